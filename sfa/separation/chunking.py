"""Chunked inference's arithmetic: where the chunks of a track start, and overlap-add of their outputs.

A track of ``length`` samples is cut into chunks of ``segment`` samples that overlap by ``overlap``; the
last one is zero-padded to the full segment so chunks of every job batch together. A track no longer than
one segment is one chunk, unpadded, so its output is exactly the whole-track call. Outputs are summed
under linear cross-fades over each overlap (the weights of two neighbours add to one there), and the sum
of weights divides the result, so every sample is a convex mix of the chunks that cover it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True, slots=True)
class Plan:
    length: int
    segment: int
    overlap: int
    starts: tuple[int, ...]

    @property
    def padded(self) -> bool:
        return self.length > self.segment


def plan(length: int, *, segment: int, overlap: float) -> Plan:
    """Chunks of ``segment`` samples overlapping by ``overlap`` (a fraction of the segment, 0 ≤ overlap < 1)."""
    if length < 1 or segment < 2 or not 0 <= overlap < 1:
        raise ValueError(f"cannot plan {length} samples in segments of {segment} overlapping by {overlap}")
    if length <= segment:
        return Plan(length, length, 0, (0,))
    shared = int(segment * overlap)
    hop = segment - shared
    count = 1 + -(-(length - segment) // hop)
    return Plan(length, segment, shared, tuple(index * hop for index in range(count)))


def chunk(audio: torch.Tensor, plan: Plan, index: int) -> torch.Tensor:
    """Chunk ``index`` of ``audio`` (``(channels, length)``), zero-padded to the segment."""
    start = plan.starts[index]
    piece = audio[:, start:start + plan.segment]
    return torch.nn.functional.pad(piece, (0, plan.segment - piece.shape[-1]))


def window(plan: Plan, index: int, *, device: torch.device | None = None) -> torch.Tensor:
    """The chunk's overlap-add weight: ramps in over the overlap it shares with the chunk before, out over
    the one it shares with the chunk after, one elsewhere."""
    weight = torch.ones(plan.segment, device=device)
    if plan.overlap:
        ramp = torch.arange(1, plan.overlap + 1, device=device, dtype=weight.dtype) / (plan.overlap + 1)
        if index > 0:
            weight[:plan.overlap] = ramp
        if index < len(plan.starts) - 1:
            weight[-plan.overlap:] = ramp.flip(0)
    return weight


class OverlapAdd:
    """Accumulates chunk outputs (``(stems, channels, segment)``) into ``(stems, channels, length)``."""

    def __init__(self, plan: Plan, stems: int, channels: int, device: torch.device | None = None) -> None:
        self.plan = plan
        total = plan.starts[-1] + plan.segment
        self.sum = torch.zeros(stems, channels, total, device=device)
        self.weight = torch.zeros(total, device=device)

    def add(self, index: int, output: torch.Tensor) -> None:
        start = self.plan.starts[index]
        weight = window(self.plan, index, device=self.sum.device)
        self.sum[..., start:start + self.plan.segment] += output * weight
        self.weight[start:start + self.plan.segment] += weight

    def result(self) -> torch.Tensor:
        length = self.plan.length
        return self.sum[..., :length] / self.weight[:length]
