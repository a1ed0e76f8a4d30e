"""Loaded separation models: a :class:`Bag` of one or more networks and how each family's weights load.

Imported only where separation runs (a GPU worker, a test, the benchmark): it imports torch.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from sfa.separation.registry import DEMUCS, TORCHAUDIO, MissingWeights, ModelSpec, missing_files


@dataclass(frozen=True, slots=True)
class Bag:
    """Networks that each map ``(batch, channels, time)`` to ``(batch, stems, channels, time)``, combined per
    stem by ``weights`` (``(models, stems)``). ``max_segment`` is the longest input, in samples, every
    network accepts (HTDemucs is trained on fixed segments), or None."""

    name: str
    networks: Sequence[nn.Module]
    weights: torch.Tensor
    sample_rate: int
    stems: tuple[str, ...]
    audio_channels: int
    max_segment: int | None

    @classmethod
    def of(cls, name: str, networks: Sequence[nn.Module], *, sample_rate: int, stems: Sequence[str],
           weights: Sequence[Sequence[float]] | None = None, audio_channels: int = 2) -> Bag:
        weights = torch.ones(len(networks), len(stems)) if weights is None \
            else torch.tensor(weights, dtype=torch.float32)
        for network in networks:
            network.eval()
        limits = [int(network.segment * network.samplerate) for network in networks
                  if getattr(network, "use_train_segment", False)]
        return cls(name, tuple(networks), weights, sample_rate, tuple(stems), audio_channels,
                   min(limits) if limits else None)

    @property
    def nbytes(self) -> int:
        return sum(p.numel() * p.element_size() for network in self.networks for p in network.parameters())

    def to(self, device: torch.device) -> Bag:
        for network in self.networks:
            network.to(device)
        return self

    def widths(self, size: int, segment: int) -> tuple[int, ...]:
        """Each network's input for a chunk of ``size`` output samples in segments of ``segment``, as
        ``demucs.apply.apply_model`` pads it: HTDemucs takes the segment, a network that states a
        ``valid_length`` takes that, any other the chunk itself."""
        return tuple(segment if getattr(network, "use_train_segment", False)
                     else network.valid_length(size) if hasattr(network, "valid_length") else size
                     for network in self.networks)

    @torch.inference_mode()
    def __call__(self, batch: torch.Tensor, size: int | None = None,
                 widths: Sequence[int] | None = None) -> torch.Tensor:
        """``(batch, channels, time)`` → ``(batch, stems, channels, size)``. ``batch`` is centred on the
        ``size`` samples wanted (all of it by default); each network gets the centre of the width it
        takes (``widths``, by default all of ``batch``) and its output is trimmed to the centre ``size``."""
        width = batch.shape[-1]
        size = width if size is None else size
        total = None
        for network, weight, own in zip(self.networks, self.weights.to(batch.device), widths or [width] * len(self),
                                        strict=True):
            skip = (width - size) // 2 - (own - size) // 2
            part = _centre(network(batch[..., skip:skip + own]), size)
            if len(self.networks) == 1:
                return part
            part = part * weight[None, :, None, None]
            total = part if total is None else total + part
        return total / self.weights.to(batch.device).sum(0)[None, :, None, None]

    def __len__(self) -> int:
        return len(self.networks)


def _centre(output: torch.Tensor, size: int) -> torch.Tensor:
    """demucs' ``center_trim``: the middle ``size`` samples, the extra one of an odd excess cut on the right."""
    excess = output.shape[-1] - size
    return output[..., excess // 2:excess // 2 + size]


def load(spec: ModelSpec, hub: Path) -> Bag:
    """Build ``spec``'s networks from the files in the hub cache (on the CPU); :class:`MissingWeights` when
    a file is absent."""
    missing = missing_files(spec, hub)
    if missing:
        raise MissingWeights(spec, hub, missing)
    networks = [LOADERS[spec.family](spec, hub / name) for name in spec.files]
    if spec.segment_s is not None:
        for network in networks:
            if not getattr(network, "use_train_segment", False) or spec.segment_s <= network.segment:
                network.segment = spec.segment_s
    # A demucs checkpoint states its own rate; torchaudio's bundles are the registry's.
    rate = getattr(networks[0], "samplerate", spec.sample_rate)
    return Bag.of(spec.name, networks, sample_rate=rate, stems=spec.stems, weights=spec.weights)


def _demucs_checkpoint(spec: ModelSpec, path: Path) -> nn.Module:
    """A demucs package (class, its arguments and state), as ``torch.hub`` cached it for demucs."""
    from demucs.states import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = load_model(path)
    if tuple(network.sources) != spec.stems:
        raise ValueError(f"{path} separates {network.sources}, not the stems of {spec.name}: {list(spec.stems)}")
    return network


def _torchaudio_bundle(spec: ModelSpec, path: Path) -> nn.Module:
    from torchaudio.models import hdemucs_high

    network = hdemucs_high(sources=list(spec.stems))
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return network


LOADERS = {DEMUCS: _demucs_checkpoint, TORCHAUDIO: _torchaudio_bundle}
