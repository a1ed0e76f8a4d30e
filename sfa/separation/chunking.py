"""Chunked inference's arithmetic: where a track's chunks start, what each feeds the model, and the
overlap-add that joins their outputs, finished span by finished span.

Two weightings, one :class:`Plan` each:

* ``demucs`` is ``demucs.apply.apply_model(split=True)`` to the sample: chunks start every
  ``int((1 - overlap) * segment)`` samples from 0 to the track's end (the last ones shorter); a chunk's
  model input is the window of the model's valid length centred on it, read from the track (zeros past
  its ends), and the output is trimmed back to the chunk's centre; outputs are weighted by a triangle
  over the segment (peak 1 in its middle), and the sum of weights divides the
  result. With demucs' whole-track normalisation around it, the output equals demucs' own.
* ``guard`` cuts chunks of exactly ``segment`` samples (the last one ending at the track's end, so no
  chunk holds padding the track has not, and a track within one segment is one call on exactly that
  track); outputs are joined by linear cross-fades over the middle half of each overlap, while the outer
  quarters are guard bands: a chunk's output there, within reach of its cut edge, gets weight zero and
  the neighbour's is used whole. A network reaching less than a quarter overlap either side thus gives
  exactly its whole-track output.

HDemucs and HTDemucs normalise each call's input by its own statistics (and HTDemucs attends across the
whole segment), so no weighting makes chunks equal one whole-track call; README says by how much each
differs from it.

Samples before the next chunk's start are final once a chunk is added (chunks start in order), so
:class:`OverlapAdd` hands them out and keeps only the open overlap: a track of any length joins in the
memory of a segment or two.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

DEMUCS, GUARD = "demucs", "guard"
WEIGHTINGS = (DEMUCS, GUARD)


@dataclass(frozen=True, slots=True)
class Plan:
    length: int
    segment: int
    starts: tuple[int, ...]
    weighting: str

    def size(self, index: int) -> int:
        """Samples of output chunk ``index`` contributes (the segment, or less at the track's end)."""
        return min(self.segment, self.length - self.starts[index])

    def final(self, index: int) -> int:
        """Every sample before this one is final once chunks ``0..index`` are added."""
        return self.starts[index + 1] if index + 1 < len(self.starts) else self.length


def plan(length: int, *, segment: int, overlap: float, weighting: str = GUARD) -> Plan:
    """Chunks of ``segment`` samples overlapping by ``overlap`` (a fraction of the segment, 0 ≤ overlap < 1)."""
    if length < 1 or segment < 2 or not 0 <= overlap < 1 or weighting not in WEIGHTINGS:
        raise ValueError(f"cannot plan {length} samples in segments of {segment} overlapping by {overlap} "
                         f"weighted {weighting!r}")
    if weighting == DEMUCS:
        stride = int((1 - overlap) * segment)
        if stride < 1:
            raise ValueError(f"segments of {segment} overlapping by {overlap} do not advance")
        return Plan(length, segment, tuple(range(0, length, stride)), DEMUCS)
    if length <= segment:
        return Plan(length, length, (0,), GUARD)
    hop = segment - int(segment * overlap)
    count = 1 + -(-(length - segment) // hop)
    return Plan(length, segment, (*(index * hop for index in range(count - 1)), length - segment), GUARD)


Level = tuple[torch.Tensor, torch.Tensor]


def chunk(audio: torch.Tensor, plan: Plan, index: int, width: int | None = None,
          level: Level | None = None) -> torch.Tensor:
    """Chunk ``index`` of ``audio`` (``(channels, length)``), or the ``width`` samples centred on it (as
    demucs' ``TensorChunk.padded``: the extra sample of an odd margin on the right, zeros past the track),
    normalised by ``level`` (mean, deviation) first, so the track itself is never copied whole."""
    start, size = plan.starts[index], plan.size(index)
    width = size if width is None else width
    first = start - (width - size) // 2
    inside = audio[:, max(0, first):min(plan.length, first + width)]
    if level is not None:
        inside = (inside - level[0]) / level[1]
    if inside.shape[-1] == width:
        return inside
    return torch.nn.functional.pad(inside, (max(0, -first), max(0, first + width - plan.length)))


def _triangle(plan: Plan) -> torch.Tensor:
    # demucs.apply's own expression (at its default transition_power of 1), so the weights are bit-equal.
    half = plan.segment // 2
    weight = torch.cat([torch.arange(1, half + 1), torch.arange(plan.segment - half, 0, -1)])
    return weight / weight.max()


def _edge(overlap: int) -> torch.Tensor:
    guard = overlap // 4
    fade = overlap - 2 * guard
    return torch.cat([torch.zeros(guard), torch.arange(1, fade + 1, dtype=torch.float32) / (fade + 1),
                      torch.ones(guard)])


def window(plan: Plan, index: int) -> torch.Tensor:
    """The chunk's overlap-add weight (``(plan.size(index),)``). ``guard``: zero over the guard band at an
    edge shared with a neighbour, a linear ramp to one over the middle half of that overlap, one elsewhere."""
    if plan.weighting == DEMUCS:
        return _triangle(plan)[:plan.size(index)]
    weight = torch.ones(plan.segment)
    start = plan.starts[index]
    if index > 0 and (before := plan.starts[index - 1] + plan.segment - start) > 0:
        weight[:before] = _edge(before)
    if index < len(plan.starts) - 1 and (after := start + plan.segment - plan.starts[index + 1]) > 0:
        weight[-after:] = torch.minimum(weight[-after:], _edge(after).flip(0))
    return weight


class OverlapAdd:
    """Joins chunk outputs (``(stems, channels, plan.size(index))``, added in order) into the track's
    output, handing out each span as it becomes final; holds only the samples still open."""

    def __init__(self, plan: Plan, stems: int, channels: int) -> None:
        self.plan = plan
        self.base = 0
        self.sum = torch.zeros(stems, channels, 0)
        self.weight = torch.zeros(0)

    def add(self, index: int, output: torch.Tensor) -> torch.Tensor:
        """Add chunk ``index``; returns the output's samples from the end of the last span returned up to
        ``plan.final(index)`` (``(stems, channels, span)``, possibly empty)."""
        start, size = self.plan.starts[index], self.plan.size(index)
        missing = start + size - self.base - self.weight.shape[0]
        if missing > 0:
            self.sum = torch.cat([self.sum, self.sum.new_zeros(*self.sum.shape[:-1], missing)], -1)
            self.weight = torch.cat([self.weight, self.weight.new_zeros(missing)])
        weight = window(self.plan, index)
        at = start - self.base
        self.sum[..., at:at + size] += weight * output
        self.weight[at:at + size] += weight
        done = self.plan.final(index) - self.base
        span = self.sum[..., :done] / self.weight[:done]
        self.sum, self.weight, self.base = self.sum[..., done:], self.weight[done:], self.base + done
        return span
