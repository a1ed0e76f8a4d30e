"""Supervisor semantics over in-loop actors: strategies, restart types, intensity and escalation."""

import asyncio
import time

import pytest

from sfa.actors import InLoopActor
from sfa.supervisors import SHUTDOWN, ChildSpec, Intensity, Restart, Strategy, Supervisor


class Worker(InLoopActor):
    """Crashes on ``"boom"``; with ``idle_s`` it ends normally once left alone that long."""

    type = "test_worker"

    async def handle(self, message):
        match message:
            case "boom":
                raise RuntimeError("boom")
            case "ping":
                return "pong"


class Journal:
    """Starts named workers and remembers every start and stop, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def spec(self, name: str, restart: Restart = Restart.PERMANENT, idle_s: float | None = None,
             fail_restarts: bool = False) -> ChildSpec:
        async def start() -> Worker:
            if fail_restarts and f"start {name}" in self.events:
                raise OSError(f"{name} cannot start again")
            self.events.append(f"start {name}")
            worker = await Worker(name, idle_s=idle_s).start()
            worker.done.add_done_callback(lambda done: self.events.append(f"end {name} {done.result().reason}"))
            return worker

        return ChildSpec(name, start, restart, type=Worker.type)


async def until(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)
    return value


async def crash(supervisor: Supervisor, name: str) -> None:
    child = supervisor.child(name)
    child.tell("boom")
    await until(lambda: (now := supervisor.child(name)) is not None and now is not child)


STRATEGY_RESTARTS = {
    Strategy.ONE_FOR_ONE: (["start b"], []),
    Strategy.ONE_FOR_ALL: (["start a", "start b", "start c"], ["end c shutdown", "end a shutdown"]),
    Strategy.REST_FOR_ONE: (["start b", "start c"], ["end c shutdown"]),
}


RESTARTED = {Strategy.ONE_FOR_ONE: {"b"}, Strategy.ONE_FOR_ALL: {"a", "b", "c"}, Strategy.REST_FOR_ONE: {"b", "c"}}


@pytest.mark.parametrize("strategy", list(Strategy))
async def test_a_crash_restarts_the_children_the_strategy_names_in_start_order(strategy):
    journal = Journal()
    supervisor = await Supervisor("s", [journal.spec(n) for n in "abc"], strategy=strategy).start()
    before = {name: supervisor.child(name) for name in "abc"}
    journal.events.clear()

    await crash(supervisor, "b")
    await until(lambda: all(supervisor.child(name) for name in "abc"))
    after = {name: supervisor.child(name) for name in "abc"}
    await supervisor.stop()

    starts, stops = STRATEGY_RESTARTS[strategy]
    during = journal.events[:len(starts) + len(stops) + 1]
    assert during[0] == "end b RuntimeError: boom"
    assert [event for event in during if event.startswith("start")] == starts
    assert [event for event in during if event.endswith("shutdown")] == stops
    assert {name for name in "abc" if after[name] is not before[name]} == RESTARTED[strategy]
    assert await supervisor.done == SHUTDOWN
    await asyncio.sleep(0)
    assert journal.events[-3:] == ["end c shutdown", "end b shutdown", "end a shutdown"]


@pytest.mark.parametrize(("restart", "after_normal_exit", "after_crash"), [
    (Restart.PERMANENT, True, True),
    (Restart.TRANSIENT, False, True),
    (Restart.TEMPORARY, False, False),
])
async def test_restart_types_decide_which_exits_are_restarted(restart, after_normal_exit, after_crash):
    journal = Journal()
    idle = await Supervisor("s", [journal.spec("idle", restart, idle_s=0.05)]).start()
    crashing = await Supervisor("s", [journal.spec("crashing", restart)]).start()

    crashing.child("crashing").tell("boom")
    await until(lambda: "end idle normal" in journal.events and "end crashing RuntimeError: boom" in journal.events)
    await asyncio.sleep(0.02)
    statuses = {node["name"]: node for sup in (idle, crashing) for node in sup.snapshot()["children"]}
    await idle.stop()
    await crashing.stop()

    assert journal.events.count("start idle") == 1 + after_normal_exit
    assert journal.events.count("start crashing") == 1 + after_crash
    assert statuses["crashing"]["restart"] == str(restart)
    assert statuses["crashing"]["restarts"] == int(after_crash)
    assert statuses["crashing"]["last_exit"] == "RuntimeError: boom"


async def test_past_its_intensity_a_supervisor_stops_its_children_and_escalates_to_its_parent():
    journal = Journal()

    async def start_inner() -> Supervisor:
        return await Supervisor("inner", [journal.spec("a"), journal.spec("b")],
                                intensity=Intensity(max_restarts=2, period_s=10)).start()

    root = await Supervisor("root", [ChildSpec("inner", start_inner, type="supervisor")],
                            intensity=Intensity(max_restarts=5, period_s=10)).start()
    first = root.child("inner")
    await crash(first, "b")
    await crash(first, "b")
    first.child("b").tell("boom")
    exit = await asyncio.wait_for(first.done, 5)
    await until(lambda: root.child("inner") is not None and root.child("inner") is not first)
    tree = root.snapshot()
    await root.stop()

    assert not exit.normal
    assert exit.reason == "escalated: more than 2 restarts in 10s (last: b: RuntimeError: boom)"
    assert first.state == "escalated"
    assert "end a shutdown" in journal.events
    [inner] = tree["children"]
    assert inner["type"] == "supervisor" and inner["state"] == "running"
    assert inner["restarts"] == 1
    assert inner["last_exit"] == exit.reason
    assert [child["name"] for child in inner["children"]] == ["a", "b"]


async def test_a_child_that_cannot_restart_counts_as_crashing_until_the_supervisor_gives_up():
    journal = Journal()
    supervisor = await Supervisor("s", [journal.spec("flaky", fail_restarts=True)],
                                  intensity=Intensity(max_restarts=3, period_s=10)).start()

    supervisor.child("flaky").tell("boom")
    exit = await asyncio.wait_for(supervisor.done, 5)

    assert exit.reason == ("escalated: more than 3 restarts in 10s "
                           "(last: flaky: start failed: OSError: flaky cannot start again)")
    assert supervisor.snapshot()["state"] == "escalated"


async def test_a_supervisor_that_cannot_start_a_child_stops_those_started_and_raises():
    journal = Journal()

    async def broken() -> Worker:
        raise OSError("no such device")

    with pytest.raises(OSError, match="no such device"):
        await Supervisor("s", [journal.spec("a"), ChildSpec("broken", broken)]).start()
    await asyncio.sleep(0)

    assert journal.events == ["start a", "end a shutdown"]
