"""Resampling in pieces equals torchaudio's resampling of the whole signal, whatever the pieces' sizes."""

from __future__ import annotations

import pytest
import torch
from torchaudio.functional import resample

from sfa.separation.resampling import Resampler


@pytest.mark.parametrize(("orig", "new"), [(44100, 48000), (48000, 44100), (22050, 44100), (44100, 8000)])
def test_pieces_resampled_one_after_another_equal_the_whole_resampled(orig, new):
    generator = torch.Generator().manual_seed(orig + new)
    signal = torch.randn(4, 2, 100_003, generator=generator)
    resampler, pieces, at = Resampler(orig, new), [], 0
    while at < signal.shape[-1]:
        size = int(torch.randint(1, 20_000, (1,), generator=generator))
        pieces.append(resampler.push(signal[..., at:at + size]))
        at += size

    joined = torch.cat([*pieces, resampler.finish()], -1)

    assert torch.equal(joined, resample(signal, orig, new))
    assert resampler.held.shape[-1] <= 20_000 + 2 * resampler.context
