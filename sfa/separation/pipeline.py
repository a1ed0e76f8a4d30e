"""A track through a model: decode, fit to the model (channels, rate, level), separate, fit back, write.

Mono is duplicated to the model's two channels and its stems folded back to mono; more than two channels
are mixed down to two. The track is resampled to the model's rate and its stems back to the track's, then
cut to the input's exact length, so every stem file has the input's length, rate and channel count. The
level is normalised over the whole track (as demucs does) so every chunk sees the same scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import soundfile
import torch
from torchaudio.functional import resample

from sfa.actors.performers import failure_message
from sfa.separation.engine import Engine, Settings
from sfa.separation.models import Bag
from sfa.tracks.files import promote, temp_path

STEM_FORMAT, STEM_SUBTYPE, STEM_EXTENSION = "WAV", "PCM_16", "wav"


class UnreadableAudio(ValueError):
    """The track's file cannot be decoded."""


@dataclass(frozen=True, slots=True)
class Track:
    audio: torch.Tensor
    sample_rate: int

    @property
    def channels(self) -> int:
        return self.audio.shape[0]

    @property
    def samples(self) -> int:
        return self.audio.shape[-1]


def read(path: Path) -> Track:
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except soundfile.LibsndfileError as exc:
        raise UnreadableAudio(f"cannot decode {path.name}: {exc.error_string}") from None
    except (RuntimeError, OSError) as exc:
        raise UnreadableAudio(f"cannot decode {path.name}: {failure_message(exc)}") from None
    if samples.shape[0] == 0:
        raise UnreadableAudio(f"{path.name} holds no samples")
    return Track(torch.from_numpy(samples.T.copy()), rate)


def fit_channels(audio: torch.Tensor, channels: int) -> torch.Tensor:
    if audio.shape[0] == channels:
        return audio
    if audio.shape[0] == 1:
        return audio.expand(channels, -1)
    if channels == 1:
        return audio.mean(0, keepdim=True)
    return audio[:channels] if channels > 2 else torch.stack([audio[0::2].mean(0), audio[1::2].mean(0)])


def separate_track(engine: Engine, bag: Bag, track: Track, settings: Settings, *, job: int,
                   progress: Callable[[int, int], None] = lambda done, total: None,
                   cancelled: Callable[[], bool] = lambda: False) -> torch.Tensor:
    """``(stems, track channels, track samples)`` at the track's rate."""
    mix = fit_channels(track.audio, bag.audio_channels)
    if track.sample_rate != bag.sample_rate:
        mix = resample(mix, track.sample_rate, bag.sample_rate)
    reference = mix.mean(0)
    mean, std = reference.mean(), reference.std().clamp_min(1e-8)
    stems = engine.separate(bag, (mix - mean) / std, settings, job=job, progress=progress,
                            cancelled=cancelled) * std + mean
    if track.sample_rate != bag.sample_rate:
        stems = resample(stems, bag.sample_rate, track.sample_rate)
    stems = torch.nn.functional.pad(stems, (0, max(0, track.samples - stems.shape[-1])))[..., :track.samples]
    return torch.stack([fit_channels(stem, track.channels) for stem in stems])


def write_stems(stems: torch.Tensor, names: tuple[str, ...], sample_rate: int, data_dir: Path,
                folder: str, job_id: int | None = None) -> list[dict[str, object]]:
    """Each stem to ``folder/<name>.wav`` under ``data_dir`` (written aside, renamed into place)."""
    written = []
    for name, stem in zip(names, stems, strict=True):
        temp = temp_path(data_dir, job_id)
        try:
            soundfile.write(temp, stem.T.numpy(), sample_rate, format=STEM_FORMAT, subtype=STEM_SUBTYPE)
            relative = f"{folder}/{name}.{STEM_EXTENSION}"
            final = promote(temp, data_dir, relative)
        finally:
            temp.unlink(missing_ok=True)
        written.append({"name": name, "path": relative, "file_size": final.stat().st_size})
    return written
