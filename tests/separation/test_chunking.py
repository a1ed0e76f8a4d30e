"""Chunk plans and overlap-add: coverage, weights that sum to one, and exactness where the receptive field
allows (a network reaching less than the guard band of an overlap gives its whole-track output)."""

from __future__ import annotations

import pytest
import torch

from sfa.separation import chunking
from sfa.separation.engine import Settings
from tests.separation.nets import LocalNet, bag


@pytest.mark.parametrize(("length", "segment", "overlap"), [(1, 100, 0.25), (100, 100, 0.25), (101, 100, 0.25),
                                                            (1000, 100, 0.0), (12345, 1000, 0.5), (999, 64, 0.9)])
def test_a_guard_plan_covers_the_track_and_its_weights_sum_to_one(length, segment, overlap):
    plan = chunking.plan(length, segment=segment, overlap=overlap)

    assert plan.starts[0] == 0 and plan.starts[-1] + plan.segment == length
    total = torch.zeros(length)
    for index, start in enumerate(plan.starts):
        total[start:start + plan.segment] += chunking.window(plan, index)
    if overlap <= 0.5:
        assert torch.allclose(total[:length], torch.ones(length))
    assert (total[:length] > 0).all()


@pytest.mark.parametrize(("length", "segment", "overlap"), [(1, 100, 0.25), (90, 100, 0.25), (1000, 100, 0.0),
                                                            (12345, 1000, 0.5), (999, 64, 0.9)])
def test_a_demucs_plan_starts_every_stride_and_spans_join_to_the_track(length, segment, overlap):
    plan = chunking.plan(length, segment=segment, overlap=overlap, weighting=chunking.DEMUCS)
    joined = chunking.OverlapAdd(plan, 1, 1)

    spans = [joined.add(index, torch.ones(1, 1, plan.size(index))) for index in range(len(plan.starts))]

    assert plan.starts == tuple(range(0, length, int((1 - overlap) * segment)))
    assert torch.allclose(torch.cat(spans, -1), torch.ones(1, 1, length))
    assert joined.sum.shape[-1] == 0


def test_a_track_within_one_segment_is_one_unpadded_chunk():
    plan = chunking.plan(777, segment=1000, overlap=0.25)  # guard weighting

    assert plan.starts == (0,) and plan.segment == 777


@pytest.mark.parametrize("bad", [dict(length=0, segment=10, overlap=0.1), dict(length=10, segment=1, overlap=0.1),
                                 dict(length=10, segment=10, overlap=1.0),
                                 dict(length=10, segment=10, overlap=0.1, weighting="nope")])
def test_a_plan_refuses_what_cannot_be_chunked(bad):
    with pytest.raises(ValueError):
        chunking.plan(**bad)


def test_chunked_output_equals_the_whole_track_where_the_receptive_field_allows(engine):
    network = LocalNet()
    mix = torch.randn(2, 8000 * 5 + 123)
    whole = network(mix[None])[0]

    chunked = engine.separate(bag(network), mix, Settings(0.5, 0.25, chunking.GUARD), job=1)

    assert len(chunking.plan(mix.shape[-1], segment=4000, overlap=0.25).starts) > 10
    assert torch.allclose(chunked, whole, atol=1e-5)
