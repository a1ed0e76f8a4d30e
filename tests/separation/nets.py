"""Small random-weight networks of the real architectures (torchaudio's HDemucs, demucs' HTDemucs), and
demucs checkpoints of them seeded into a torch hub cache the way an operator places real weights."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import torch
from demucs.htdemucs import HTDemucs
from torch import nn
from torchaudio.models import HDemucs

from sfa.separation.models import Bag
from sfa.separation.registry import FOUR_STEMS

RATE = 8000


def hdemucs(stems: tuple[str, ...] = FOUR_STEMS, seed: int = 0, samplerate: int = RATE) -> HDemucs:
    """torchaudio's HDemucs, fewer channels and a smaller STFT: the frequency axis still folds into the
    time branch as in ``hdemucs_high``. It carries demucs' ``samplerate`` and ``sources`` too, so
    ``demucs.apply.apply_model`` takes it."""
    torch.manual_seed(seed)
    network = HDemucs(list(stems), channels=8, depth=4, nfft=256)
    network.samplerate, network.sources = samplerate, list(stems)
    return network


def htdemucs(stems: tuple[str, ...] = FOUR_STEMS, seed: int = 0, segment_s: float = 1.0) -> HTDemucs:
    """demucs' HTDemucs (cross-domain transformer included), small, trained segment ``segment_s``."""
    torch.manual_seed(seed)
    return HTDemucs(list(stems), channels=8, depth=2, nfft=512, t_layers=1, samplerate=RATE, segment=segment_s)


def htdemucs_44k(stems: tuple[str, ...] = FOUR_STEMS, seed: int = 0, channels: int = 8) -> HTDemucs:
    """HTDemucs at 44.1 kHz with the pretrained ``htdemucs``' depth, STFT and 7.8 s training segment (so
    as many transformer tokens), a few channels and one transformer layer."""
    torch.manual_seed(seed)
    return HTDemucs(list(stems), channels=channels, depth=4, nfft=4096, t_layers=1, samplerate=44100,
                    segment=Fraction(39, 5))


def bag(network: nn.Module, name: str = "test", stems: tuple[str, ...] = FOUR_STEMS) -> Bag:
    return Bag.of(name, [network], sample_rate=getattr(network, "samplerate", RATE), stems=stems)


def seed_checkpoint(hub: Path, relative: str, network: HTDemucs) -> Path:
    """Write ``network`` as a demucs package (class, init arguments, state) at ``hub/relative``."""
    args, kwargs = network._init_args_kwargs
    path = hub / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"klass": type(network), "args": args, "kwargs": kwargs, "state": network.state_dict()}, path)
    return path


class LocalNet(nn.Module):
    """Two stacked convolutions (8 samples of reach either side), four stems of two channels: a network
    whose cost is negligible, for what is about the chunks and the track rather than the model."""

    def __init__(self, samplerate: int = RATE) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.samplerate = samplerate
        self.layers = nn.Sequential(nn.Conv1d(2, 16, 9, padding=4), nn.GELU(), nn.Conv1d(16, 8, 9, padding=4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).view(x.shape[0], 4, 2, -1)
