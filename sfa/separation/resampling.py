"""Resampling a signal that arrives in pieces, equal to ``torchaudio.functional.resample`` of the whole.

torchaudio reduces the two rates by their gcd to ``orig`` and ``new``, pads the signal with ``width`` zeros
before it (``width + orig`` after it), and convolves with stride ``orig``: output frame ``f`` (``new``
samples) reads input ``[f * orig - width, f * orig + orig + width)``. So a run of frames can be computed
from a slice of the input that starts on a multiple of ``orig`` at least ``width`` before the run and ends
``width`` after it; resampling that slice and keeping the run's frames gives exactly the whole signal's.
:class:`Resampler` does that as pieces arrive, holding only the input the next frames still need.
"""

from __future__ import annotations

import math

import torch
from torchaudio.functional import resample

# torchaudio's defaults, which fix its kernel's reach.
LOWPASS_FILTER_WIDTH, ROLLOFF = 6, 0.99


class Resampler:
    """Feed ``(..., time)`` pieces at ``orig_freq`` to :meth:`push`, then call :meth:`finish`; the pieces
    they return, joined, are ``resample(whole, orig_freq, new_freq)``."""

    def __init__(self, orig_freq: int, new_freq: int) -> None:
        self.rates = orig_freq, new_freq
        gcd = math.gcd(orig_freq, new_freq)
        self.orig, self.new = orig_freq // gcd, new_freq // gcd
        width = math.ceil(LOWPASS_FILTER_WIDTH * self.orig / (min(self.orig, self.new) * ROLLOFF))
        self.context = self.orig * (width // self.orig + 1)  # a multiple of orig beyond the kernel's reach
        self.held: torch.Tensor | None = None
        self.offset = 0  # where ``held`` starts in the input
        self.frame = 0  # the next output frame
        self.received = 0

    def push(self, piece: torch.Tensor) -> torch.Tensor:
        self.held = piece if self.held is None else torch.cat([self.held, piece], -1)
        self.received += piece.shape[-1]
        return self._frames((self.received - self.context) // self.orig)

    def finish(self) -> torch.Tensor:
        """The rest of the output (torchaudio's length: ``ceil(new * input / orig)`` samples in all)."""
        total = math.ceil(self.new * self.received / self.orig)
        return self._frames(-(-total // self.new), end=total)

    def _frames(self, last: int, end: int | None = None) -> torch.Tensor:
        """Output frames ``[self.frame, last)``; ``end``: the input is complete, cut the output there."""
        assert self.held is not None
        if last <= self.frame:
            return self.held.new_zeros(*self.held.shape[:-1], 0)
        start = max(0, self.frame * self.orig - self.context)
        stop = self.received if end is not None else last * self.orig + self.context
        skip = (self.frame * self.orig - start) // self.orig * self.new
        out = resample(self.held[..., start - self.offset:stop - self.offset], *self.rates)
        count = (end if end is not None else last * self.new) - self.frame * self.new
        out = out[..., skip:skip + count]
        self.frame = last
        keep = max(0, self.frame * self.orig - self.context)
        self.held, self.offset = self.held[..., keep - self.offset:], keep
        return out
