"""The worker's path equals what demucs users run: ``demucs.apply.apply_model(split=True)`` at the same
segment and overlap, inside demucs' whole-track normalisation (``demucs.api.Separator``), on a minute of
stereo at 44.1 kHz. Small random-weight networks of each architecture (HTDemucs with four and six stems at
demucs' 7.8 s training segment, torchaudio's HDemucs): the chunking arithmetic is what is compared, and it
does not depend on the networks' width."""

from __future__ import annotations

import pytest
import torch
from demucs.apply import apply_model

from sfa.separation.chunking import DEMUCS
from sfa.separation.engine import Settings, tune_process
from sfa.separation.pipeline import Track, separate_track
from sfa.separation.registry import FOUR_STEMS, MODELS
from tests.separation.nets import bag, hdemucs, htdemucs_44k

RATE = 44100
SIX_STEMS = MODELS["htdemucs_6s"].stems


def demucs_separate(network: torch.nn.Module, wav: torch.Tensor, segment_s: float, overlap: float) -> torch.Tensor:
    """``demucs.api.Separator.separate_tensor`` without shifts, on ``network``."""
    reference = wav.mean(0)
    mean, std = reference.mean(), reference.std() + 1e-8
    out = apply_model(network, ((wav - mean) / std)[None], shifts=0, split=True, overlap=overlap, segment=segment_s)
    return out[0] * std + mean


NETWORKS = {
    "htdemucs": lambda: htdemucs_44k(FOUR_STEMS),
    "htdemucs_6s": lambda: htdemucs_44k(SIX_STEMS),
    "hdemucs_high": lambda: hdemucs(FOUR_STEMS, samplerate=RATE),
}


# A minute at demucs' defaults; shorter at other settings (a segment below HTDemucs' training one, which
# the network pads inside; odd overlaps, whose chunk ends fall anywhere).
@pytest.mark.parametrize(("name", "seconds", "segment_s", "overlap"), [
    ("htdemucs", 60, 7.8, 0.25), ("htdemucs_6s", 60, 7.8, 0.25), ("hdemucs_high", 60, 7.8, 0.25),
    ("htdemucs", 17.3, 5.3, 0.4), ("hdemucs_high", 19.9, 6.1, 0.1)])
def test_the_worker_equals_demucs_chunked_inference(engine, name, seconds, segment_s, overlap):
    network = NETWORKS[name]()
    torch.manual_seed(5)
    wav = torch.randn(2, int(seconds * RATE)) * 0.2 + 0.01
    expected = demucs_separate(network, wav, segment_s, overlap)

    spans = list(separate_track(engine, bag(network, stems=tuple(network.sources)), Track(wav, RATE),
                                Settings(segment_s, overlap, DEMUCS), job=1))

    assert len(spans) > 2
    stems = torch.cat(spans, -1)
    assert stems.shape == expected.shape == (len(network.sources), *wav.shape)
    assert (stems - expected).abs().max().item() <= 1e-4


def test_the_worker_process_settings_keep_the_output():
    """:func:`tune_process` (the GPU worker's allocator, huge pages and attention kernel) changes the model's
    output by rounding only: self-attention runs through ``scaled_dot_product_attention`` rather than
    ``nn.MultiheadAttention``'s fast path."""
    network = htdemucs_44k(FOUR_STEMS).eval()
    torch.manual_seed(5)
    mix = torch.randn(1, 2, int(7.8 * RATE)) * 0.2
    with torch.inference_mode():
        fast_path = network(mix)
        try:
            tune_process()
            assert not torch.backends.mha.get_fastpath_enabled()
            flash = network(mix)
        finally:
            torch.backends.mha.set_fastpath_enabled(True)
    assert (flash - fast_path).abs().max().item() <= 1e-5
