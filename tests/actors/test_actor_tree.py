"""The application tree in-process: its shape, the status over the control socket, a crash loop that
escalates to the root, and a stop that leaves no actor process behind."""

import asyncio
import time
from pathlib import Path

import psutil
import pytest

from sfa.actors import ActorTree, RunJob, WorkerCrashed
from sfa.config import Config
from sfa.supervisors.control import SOCKET_NAME, ControlError, ask
from sfa.supervisors.render import render
from tests.actors.jobs import application_tree

THESPIAN_OWN = 3  # the admin, its logger and the nursery


def tree_config(tmp_path: Path, **env: str) -> Config:
    return Config.from_env({"SFA_VAR_DIR": str(tmp_path / "var"), "SFA_LOG_LEVEL": "error", **env})


def live(pids: list[int]) -> list[int]:
    return [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


def nodes(tree: dict) -> dict[str, dict]:
    found = {tree["name"]: tree}
    for child in tree.get("children", []):
        found.update(nodes(child))
    return found


async def test_the_tree_runs_configured_pools_a_cpu_gpu_worker_and_presences_and_stops_without_leftovers(tmp_path):
    tree = await application_tree(tree_config(tmp_path, SFA_WORKERS_DOWNLOAD="2", SFA_WORKERS_PROCESSING="1",
                                       SFA_WORKERS_ANALYSIS="1")).start()
    try:
        await tree.presences.presence("alice")
        snapshot = tree.snapshot()
        pids = [process.pid for process in tree.bridge.processes()]
        over_socket = await ask(tmp_path / "var" / SOCKET_NAME, "status")
    finally:
        await tree.stop()

    root = snapshot["tree"]
    assert (root["name"], root["type"], root["strategy"], root["state"]) == ("root", "supervisor", "one_for_one",
                                                                             "running")
    assert [(child["name"], child["type"], len(child["children"])) for child in root["children"]] == [
        ("download", "worker_pool", 2), ("processing", "worker_pool", 1), ("analysis", "worker_pool", 1),
        ("gpu", "worker_pool", 1), ("presences", "supervisor", 1)]
    gpu_worker = nodes(root)["gpu-1"]
    assert (gpu_worker["type"], gpu_worker["device"], gpu_worker["state"]) == ("gpu_worker", "cpu", "idle")
    presence = nodes(root)["presence:alice"]
    assert (presence["type"], presence["restart"], presence["mailbox_depth"]) == ("user_presence", "transient", 0)
    for worker in ("download-1", "download-2", "processing-1", "analysis-1", "gpu-1"):
        node = nodes(root)[worker]
        assert node["pid"] in pids and node["restarts"] == 0 and node["current_job"] is None
        assert set(node) >= {"name", "type", "pid", "state", "restarts", "mailbox_depth", "current_job", "uptime_s"}
    assert snapshot["actor_processes"] == len(pids) == THESPIAN_OWN + 5
    assert over_socket["tree"]["children"][0]["children"][0]["pid"] == root["children"][0]["children"][0]["pid"]
    assert live(pids) == []
    assert not (tmp_path / "var" / SOCKET_NAME).exists()


async def test_a_crash_loop_escalates_pool_then_root_and_the_status_tree_shows_it(tmp_path):
    tree = await application_tree(tree_config(tmp_path, SFA_WORKERS_DOWNLOAD="1", SFA_MAX_RESTARTS="2",
                                       SFA_RESTART_PERIOD_S="60")).start()
    seen: list[dict] = []
    try:
        for job_id in range(1, 20):
            with pytest.raises(WorkerCrashed) as crashed:
                await asyncio.wait_for(tree.pools["download"].run(RunJob(job_id, "test.crash", 1, {})), 10)
            await until(lambda: tree.root.done.done() or download_pid(tree) not in (None, crashed.value.pid))
            seen.append(tree.snapshot()["tree"])
            if tree.root.done.done():
                break
        final = tree.snapshot()
        text = render(final["tree"])
        await until(lambda: len(tree.bridge.processes()) == THESPIAN_OWN)
    finally:
        await tree.stop()

    first_escalation = next(snapshot for snapshot in seen if nodes(snapshot)["download"]["restarts"] == 1)
    download = nodes(first_escalation)["download"]
    assert download["last_exit"].startswith("escalated: more than 2 restarts in 60s (last: download-1: process ")
    assert download["state"] == "running" and nodes(first_escalation)["download-1"]["restarts"] == 0
    root = final["tree"]
    assert root["state"] == "escalated"
    assert [child["state"] for child in root["children"]] == ["stopped"] * 5
    assert nodes(root)["download"]["last_exit"].startswith("escalated: more than 2 restarts")
    assert "root  supervisor  one_for_one (max 2 in 60s)  escalated  pid " in text
    assert "├─ download  worker_pool  stopped  mailbox 0  restarts 2  last exit: escalated: more than 2" in text


async def test_the_control_socket_refuses_unknown_commands_and_status_without_a_server_is_an_error(tmp_path):
    tree = await application_tree(tree_config(tmp_path, SFA_WORKERS_DOWNLOAD="1", SFA_WORKERS_PROCESSING="1",
                                       SFA_WORKERS_ANALYSIS="1")).start()
    try:
        with pytest.raises(ControlError, match="unknown command 'reboot'; this server answers status"):
            await ask(tmp_path / "var" / SOCKET_NAME, "reboot")
    finally:
        await tree.stop()

    with pytest.raises(ControlError, match="no server is running with this SFA_VAR_DIR"):
        await ask(tmp_path / "var" / SOCKET_NAME, "status")


def download_pid(tree: ActorTree) -> int | None:
    return nodes(tree.snapshot()["tree"]).get("download-1", {}).get("pid")


async def until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)
    return value
