"""The engine on random-weight networks of the real architectures: a track within one segment equals the
plain whole-track call; chunks of concurrent jobs share batches without changing any output; progress per
chunk; cancellation between chunks; models evicted by the memory budget."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from torch import nn

from sfa.separation.chunking import GUARD
from sfa.separation.engine import Cancelled, Engine, Settings
from tests.separation.nets import RATE, bag, hdemucs, htdemucs

SETTINGS = Settings(segment_s=1.0, overlap=0.25)
WHOLE = Settings(segment_s=1.0, overlap=0.25, weighting=GUARD)  # a track within one segment is one plain call


@pytest.mark.parametrize("build", [hdemucs, htdemucs], ids=["HDemucs", "HTDemucs"])
@pytest.mark.parametrize("seconds", [0.3, 1.0])
def test_a_track_within_one_segment_equals_the_whole_track_call(engine, build, seconds):
    network = build()
    mix = torch.randn(2, int(RATE * seconds))

    with torch.inference_mode():
        whole = network(mix[None])[0]

    assert torch.allclose(engine.separate(bag(network), mix, WHOLE, job=1), whole, atol=1e-4)


@pytest.mark.parametrize("build", [hdemucs, htdemucs], ids=["HDemucs", "HTDemucs"])
def test_a_long_track_is_chunked_to_its_exact_length(engine, build):
    mix = torch.randn(2, RATE * 4 + 77)
    steps = []

    out = engine.separate(bag(build()), mix, SETTINGS, job=1, progress=lambda done, total: steps.append((done, total)))

    assert out.shape == (4, 2, mix.shape[-1]) and torch.isfinite(out).all()
    assert steps == [(done, len(steps)) for done in range(1, len(steps) + 1)] and len(steps) >= 5


class Gate(nn.Module):
    """Wraps a network; a call waits until ``open`` is set."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self.open = threading.Event()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert self.open.wait(30)
        return self.network(x)


def test_chunks_of_concurrent_jobs_share_batches_and_outputs_do_not_change(engine):
    gate = Gate(hdemucs())
    shared = bag(gate)
    mixes = [torch.randn(2, RATE * 3), torch.randn(2, RATE * 3 + 500)]
    gate.open.set()
    alone = [Engine("cpu", hub=engine.cache.hub, budget_bytes=1 << 30, max_batch=1)
             .separate(shared, mix, SETTINGS, job=100 + number) for number, mix in enumerate(mixes)]
    gate.open.clear()
    blocker = engine.runner.submit(shared, torch.randn(2, RATE), job=99)
    results: dict[int, torch.Tensor] = {}

    def run(number: int) -> None:
        results[number] = engine.separate(shared, mixes[number], SETTINGS, job=number)

    while not blocker.running():  # taken into a batch alone, so the jobs' chunks all queue behind it
        time.sleep(0.01)
    threads = [threading.Thread(target=run, args=(number,)) for number in (0, 1)]
    for thread in threads:
        thread.start()
    while engine.runner.waiting < 2 * engine.runner.max_batch:
        time.sleep(0.01)
    gate.open.set()
    for thread in threads:
        thread.join(60)

    assert blocker.result().shape == (4, 2, RATE)
    stats = engine.runner.stats
    assert stats.mixed_batches >= 2 and stats.shared[0] >= 2 and stats.shared[1] >= 2
    for number in (0, 1):
        assert torch.allclose(results[number], alone[number], atol=1e-4)


def test_a_cancelled_job_stops_between_chunks(engine):
    seen = []

    with pytest.raises(Cancelled, match="cancelled after 2 of"):
        engine.separate(bag(hdemucs()), torch.randn(2, RATE * 6), SETTINGS, job=1,
                        progress=lambda done, total: seen.append(done), cancelled=lambda: len(seen) >= 2)
    assert seen == [1, 2]


def test_models_beyond_the_memory_budget_evict_the_least_recently_used(engine):
    first, second = bag(hdemucs(), name="first"), bag(hdemucs(seed=1), name="second")
    cache = Engine("cpu", hub=engine.cache.hub, budget_bytes=first.nbytes + second.nbytes // 2, max_batch=1).cache

    cache.put(first)
    cache.put(second)

    assert cache.names == ["second"] and cache.resident_bytes == second.nbytes
