"""UserSession actors: one per session key, started on first use, gone when idle, alone when they crash."""

import asyncio

import pytest

from sfa.actors import ActorCrashed, SessionSupervisor
from sfa.actors.session import GetToken, PutToken, Subscribe, Subscriptions, Unsubscribe


@pytest.fixture
async def sessions():
    supervisor = await SessionSupervisor(idle_s=0.3).start()
    yield supervisor
    await supervisor.stop()


async def test_a_session_starts_on_first_use_and_keeps_its_state(sessions):
    alice = await sessions.session("alice")
    alice.tell(Subscribe("jobs:1"))
    alice.tell(Subscribe("jobs:2"))
    alice.tell(Unsubscribe("jobs:1"))
    await alice.ask(PutToken("spotify", "tok"))

    assert await sessions.session("alice") is alice
    assert await alice.ask(Subscriptions()) == frozenset({"jobs:2"})
    assert await alice.ask(GetToken("spotify")) == "tok"
    assert [child["name"] for child in sessions.snapshot()["children"]] == ["session:alice"]


async def test_concurrent_first_uses_share_one_session(sessions):
    first, second = await asyncio.gather(sessions.session("bob"), sessions.session("bob"))

    assert first is second
    assert len(sessions.snapshot()["children"]) == 1


async def test_an_idle_session_stops_and_the_next_use_starts_a_fresh_one(sessions):
    carol = await sessions.session("carol")
    await carol.ask(Subscribe("jobs:9"))
    await carol.ask(Unsubscribe("jobs:9"))

    assert (await asyncio.wait_for(carol.done, 5)).reason == "normal"
    await asyncio.sleep(0)
    assert sessions.snapshot()["children"] == []
    again = await sessions.session("carol")
    assert again is not carol
    assert await again.ask(Subscriptions()) == frozenset()


async def test_a_session_holding_a_subscription_outlives_its_idle_time(sessions):
    frank = await sessions.session("frank")
    await frank.ask(Subscribe("jobs:1"))
    await frank.ask(Subscribe("jobs:1"))
    await frank.ask(Unsubscribe("jobs:1"))

    await asyncio.sleep(sessions.idle_s * 3)
    assert not frank.done.done()
    await frank.ask(Unsubscribe("jobs:1"))
    assert (await asyncio.wait_for(frank.done, 5)).reason == "normal"


async def test_a_crashing_session_is_restarted_empty_and_its_neighbours_never_notice(sessions):
    dave, erin = await sessions.session("dave"), await sessions.session("erin")
    await dave.ask(Subscribe("a"))
    await erin.ask(Subscribe("b"))

    with pytest.raises(ActorCrashed, match="dave crashed handling"):
        await dave.ask(PutToken(["an", "unhashable", "provider"], "token"))
    restarted = await sessions.session("dave")

    assert restarted is not dave
    assert await restarted.ask(Subscriptions()) == frozenset()
    assert await erin.ask(Subscriptions()) == frozenset({"b"})
    assert await sessions.session("erin") is erin
    [dave_status] = [child for child in sessions.snapshot()["children"] if child["name"] == "session:dave"]
    assert dave_status["restarts"] == 1
    assert dave_status["last_exit"].startswith("TypeError")
