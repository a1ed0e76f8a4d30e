"""Chunked inference's arithmetic: where the chunks of a track start, and overlap-add of their outputs.

A track of ``length`` samples is cut into chunks of ``segment`` samples that overlap by ``overlap``; the
last one ends at the track's end (overlapping its neighbour more), so no chunk holds padding the whole
track has not, and chunks of every job have one length and batch together. A track no longer than one
segment is one chunk, so its output is exactly the whole-track call. Outputs are summed
under linear cross-fades over the middle half of each overlap (the weights of two neighbours add to one
there), and the sum of weights divides the result, so every sample is a convex mix of the chunks that
cover it. The outer quarters of an overlap are guard bands: a chunk's output there, within reach of its
cut edge, gets weight zero and the neighbour's is used whole. So a network whose receptive field reaches
less than a quarter overlap either side gives exactly its whole-track output; HDemucs and HTDemucs
normalise each call's input by its own mean and deviation (and HTDemucs attends across the whole
segment), so their every output sample depends on the whole chunk and chunks only approximate one call.
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


def plan(length: int, *, segment: int, overlap: float) -> Plan:
    """Chunks of ``segment`` samples overlapping by ``overlap`` (a fraction of the segment, 0 ≤ overlap < 1)."""
    if length < 1 or segment < 2 or not 0 <= overlap < 1:
        raise ValueError(f"cannot plan {length} samples in segments of {segment} overlapping by {overlap}")
    if length <= segment:
        return Plan(length, length, 0, (0,))
    shared = int(segment * overlap)
    hop = segment - shared
    count = 1 + -(-(length - segment) // hop)
    starts = [index * hop for index in range(count - 1)] + [length - segment]
    return Plan(length, segment, shared, tuple(starts))


def chunk(audio: torch.Tensor, plan: Plan, index: int) -> torch.Tensor:
    """Chunk ``index`` of ``audio`` (``(channels, length)``)."""
    start = plan.starts[index]
    return audio[:, start:start + plan.segment]


def _edge(overlap: int, device: torch.device | None) -> torch.Tensor:
    guard = overlap // 4
    fade = overlap - 2 * guard
    return torch.cat([torch.zeros(guard, device=device),
                      torch.arange(1, fade + 1, device=device, dtype=torch.float32) / (fade + 1),
                      torch.ones(guard, device=device)])


def window(plan: Plan, index: int, *, device: torch.device | None = None) -> torch.Tensor:
    """The chunk's overlap-add weight: zero over the guard band at an edge it shares with a neighbour, then
    a linear ramp to one over the middle half of that overlap, one elsewhere."""
    weight = torch.ones(plan.segment, device=device)
    start = plan.starts[index]
    if index > 0 and (before := plan.starts[index - 1] + plan.segment - start) > 0:
        weight[:before] = _edge(before, device)
    if index < len(plan.starts) - 1 and (after := start + plan.segment - plan.starts[index + 1]) > 0:
        weight[-after:] = torch.minimum(weight[-after:], _edge(after, device).flip(0))
    return weight


class OverlapAdd:
    """Accumulates chunk outputs (``(stems, channels, segment)``) into ``(stems, channels, length)``."""

    def __init__(self, plan: Plan, stems: int, channels: int, device: torch.device | None = None) -> None:
        self.plan = plan
        total = plan.length
        self.sum = torch.zeros(stems, channels, total, device=device)
        self.weight = torch.zeros(total, device=device)

    def add(self, index: int, output: torch.Tensor) -> None:
        start = self.plan.starts[index]
        weight = window(self.plan, index, device=self.sum.device)
        self.sum[..., start:start + self.plan.segment] += output * weight
        self.weight[start:start + self.plan.segment] += weight

    def result(self) -> torch.Tensor:
        return self.sum / self.weight
