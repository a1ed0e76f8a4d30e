"""UserPresence actors: one per key, started on first use, gone when idle, alone when they crash."""

import asyncio

import pytest

from sfa.actors import ActorCrashed, PresenceSupervisor
from sfa.actors.presence import Joined, Left


@pytest.fixture
async def presences():
    supervisor = await PresenceSupervisor(idle_s=0.3).start()
    yield supervisor
    await supervisor.stop()


def shown(presences: PresenceSupervisor, key: str) -> dict:
    """The presence's node in the supervision tree, as an operator sees it."""
    [node] = [child for child in presences.snapshot()["children"] if child["name"] == f"presence:{key}"]
    return node


async def test_a_presence_starts_on_first_use_and_the_tree_shows_its_topics(presences):
    alice = await presences.presence("alice")
    alice.tell(Joined("jobs:1"))
    alice.tell(Joined("jobs:2"))
    await alice.ask(Left("jobs:1"))

    assert await presences.presence("alice") is alice
    assert shown(presences, "alice")["topics"] == ["jobs:2"]
    assert [child["name"] for child in presences.snapshot()["children"]] == ["presence:alice"]


async def test_concurrent_first_uses_share_one_presence(presences):
    first, second = await asyncio.gather(presences.presence("bob"), presences.presence("bob"))

    assert first is second
    assert len(presences.snapshot()["children"]) == 1


async def test_an_idle_presence_stops_and_the_next_use_starts_a_fresh_one(presences):
    carol = await presences.presence("carol")
    await carol.ask(Joined("jobs:9"))
    await carol.ask(Left("jobs:9"))

    assert (await asyncio.wait_for(carol.done, 5)).reason == "normal"
    await asyncio.sleep(0)
    assert presences.snapshot()["children"] == []
    again = await presences.presence("carol")
    assert again is not carol
    assert shown(presences, "carol")["topics"] == []


async def test_a_presence_holding_a_topic_outlives_its_idle_time(presences):
    frank = await presences.presence("frank")
    await frank.ask(Joined("jobs:1"))
    await frank.ask(Joined("jobs:1"))
    await frank.ask(Left("jobs:1"))

    await asyncio.sleep(presences.idle_s * 3)
    assert not frank.done.done()
    await frank.ask(Left("jobs:1"))
    assert (await asyncio.wait_for(frank.done, 5)).reason == "normal"


async def test_a_crashing_presence_is_restarted_empty_and_its_neighbours_never_notice(presences):
    dave, erin = await presences.presence("dave"), await presences.presence("erin")
    await dave.ask(Joined("a"))
    await erin.ask(Joined("b"))

    with pytest.raises(ActorCrashed, match="dave crashed handling"):
        await dave.ask(Joined(["an", "unhashable", "topic"]))
    restarted = await presences.presence("dave")

    assert restarted is not dave
    assert shown(presences, "dave")["topics"] == []
    assert shown(presences, "erin")["topics"] == ["b"]
    assert await presences.presence("erin") is erin
    assert shown(presences, "dave")["restarts"] == 1
    assert shown(presences, "dave")["last_exit"].startswith("TypeError")
