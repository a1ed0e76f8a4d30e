"""The planned CPU allocator: a forward's tensors reuse one block laid out by its first run, never a place
still in use, and the block goes back when released."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
import torch

from sfa.separation import arena
from sfa.separation.engine import Engine, Settings
from sfa.separation.pipeline import Track, separate_track
from sfa.separation.registry import FOUR_STEMS
from tests.separation.nets import bag, htdemucs_44k

pytestmark = pytest.mark.skipif(shutil.which(os.environ.get("CXX", "c++")) is None,
                                reason="no C++ compiler to build the planned allocator")

SIZE = 8 << 20  # bytes of each temporary; the scalars wrapped as tensors add a few bytes to the plan
FLOATS = SIZE // 4


@pytest.fixture(autouse=True)
def installed() -> Iterator[None]:
    assert arena.install()
    arena.release()
    yield
    arena.release()


def steps(x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """Three temporaries the size of ``x``, two alive at once (the first dies before the third is made);
    the third's sum, the first's and the third's addresses."""
    first = x + 1
    second = first * 2
    where_first = first.data_ptr()
    del first
    third = second + 1
    del second
    return third.sum(), where_first, third.data_ptr()


def test_a_replayed_run_reuses_the_block_laid_out_by_the_first():
    x = torch.rand(FLOATS)
    expected, _, _ = steps(x)
    with arena.planned("steps"):
        recorded, _, _ = steps(x)
    held = arena.held_bytes()
    assert 2 * SIZE <= held < 3 * SIZE
    for _ in range(2):
        with arena.planned("steps"):
            replayed, where_first, where_third = steps(x)
        assert torch.equal(replayed, expected) and torch.equal(recorded, expected)
        assert where_third == where_first
    assert arena.held_bytes() == held


def keeping(x: torch.Tensor, keep: list[torch.Tensor] | None = None) -> torch.Tensor:
    """:func:`steps`, its first temporary kept in ``keep`` when given, past the life the plan gave it."""
    first = x + 1
    if keep is not None:
        keep.append(first)
    second = first * 2
    del first
    third = second + 1  # planned where the first was
    return third.sum()


def test_a_tensor_kept_past_its_planned_life_is_never_overwritten():
    x = torch.rand(FLOATS)
    expected = keeping(x)
    with arena.planned("keep"):
        keeping(x)
    kept: list[torch.Tensor] = []
    with arena.planned("keep"):
        kept_run = keeping(x, kept)
    with arena.planned("keep"):
        again = keeping(x)
    assert torch.equal(kept[0], x + 1)
    assert torch.equal(kept_run, expected) and torch.equal(again, expected)


def test_a_run_departing_from_the_plan_computes_the_same_and_the_next_records_anew():
    with arena.planned("sizes"):
        steps(torch.rand(FLOATS))
    held = arena.held_bytes()
    x = torch.rand(FLOATS // 2)
    expected, _, _ = steps(x)
    with arena.planned("sizes"):
        departed, _, _ = steps(x)
    assert torch.equal(departed, expected)
    with arena.planned("sizes"):
        steps(x)
    with arena.planned("sizes"):
        replayed, where_first, where_third = steps(x)
    assert torch.equal(replayed, expected)
    assert where_third == where_first
    assert arena.held_bytes() < held


def test_another_shape_now_and_then_runs_unplanned_and_keeps_the_plan():
    """A track's last chunk, shorter, between a job's chunks: it computes the same without a plan, and the
    job's plan stays; the same other shape twice in a row is a new workload, recorded."""
    x, y = torch.rand(FLOATS), torch.rand(FLOATS // 2)
    for _ in range(2):
        with arena.planned("chunk"):
            steps(x)
    held = arena.held_bytes()
    expected, _, _ = steps(y)
    with arena.planned("last chunk"):
        last, _, _ = steps(y)
    assert torch.equal(last, expected)
    assert arena.held_bytes() == held
    with arena.planned("chunk"):
        _, where_first, where_third = steps(x)
        assert arena.held_bytes() == held
    assert where_third == where_first
    for _ in range(2):
        with arena.planned("next track"):
            steps(y)
    assert 0 < arena.held_bytes() < held


def test_a_released_block_goes_back_once_nothing_in_it_is_alive_and_its_layout_stays():
    x = torch.rand(FLOATS)
    expected = keeping(x)
    with arena.planned("release"):
        keeping(x)
    held = arena.held_bytes()
    kept: list[torch.Tensor] = []
    with arena.planned("release"):
        keeping(x, kept)
    arena.release()
    assert arena.held_bytes() == held  # the kept tensor holds its place
    kept.clear()
    assert arena.held_bytes() == 0
    with arena.planned("release"):
        assert arena.held_bytes() == held  # replaying at once, in a fresh block (a recording has none yet)
        replayed = keeping(x)
    assert torch.equal(replayed, expected)


def test_the_cpu_engine_plans_its_forwards_to_the_same_output_and_gives_the_block_back_after_a_track(tmp_path):
    engine = Engine("cpu", hub=tmp_path / "hub", budget_bytes=1 << 30, max_batch=1)
    assert engine.runner.planned
    network = htdemucs_44k(FOUR_STEMS)
    torch.manual_seed(5)
    track = Track(torch.randn(2, 30 * 44100) * 0.2, 44100)
    separated, held = [], []
    for planned in (False, True):
        engine.runner.planned = planned
        separated.append(torch.cat(list(separate_track(
            engine, bag(network, stems=FOUR_STEMS), track, Settings(7.8, 0.25), job=1,
            progress=lambda done, total: held.append(arena.held_bytes()))), -1))
    assert torch.equal(separated[0], separated[1])
    chunks = len(held) // 2
    assert held[:chunks] == [0] * chunks and all(held[chunks:])  # planned from the first chunk on
    assert arena.held_bytes() == 0
