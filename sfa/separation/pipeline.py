"""A track through a model: decode, fit to the model (channels, rate, level), separate, fit back, write.

Mono is duplicated to the model's two channels and its stems folded back to mono; more than two channels
are mixed down to two. The track is resampled to the model's rate and its stems back to the track's, then
cut to the input's exact length, so every stem file has the input's length, rate and channel count. The
level is normalised over the whole track, as ``demucs.api.Separator`` does, so every chunk sees the same
scale. Stems flow to their files span by span as the chunks finish (resampled as they go, see
:mod:`resampling`): the worker holds the decoded track (and its copy at the model's rate, if the rates
differ) and a segment or two of output, whatever the track's length.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import soundfile
import torch
from torchaudio.functional import resample

from sfa.actors.performers import failure_message
from sfa.separation.engine import Engine, Settings
from sfa.separation.models import Bag
from sfa.separation.resampling import Resampler
from sfa.tracks.files import promote, temp_path

STEM_FORMAT, STEM_SUBTYPE, STEM_EXTENSION = "WAV", "PCM_16", "wav"
READ_BLOCK = 1 << 20


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
    """The whole file as ``(channels, samples)`` float32, read block by block into one tensor (no second
    copy of an hour-long track)."""
    try:
        with soundfile.SoundFile(path) as source:
            audio, at = torch.empty(source.channels, source.frames), 0
            for block in source.blocks(READ_BLOCK, dtype="float32", always_2d=True):
                if at + len(block) > audio.shape[-1]:
                    audio = torch.cat([audio, torch.empty(source.channels, at + len(block) - audio.shape[-1])], -1)
                audio[:, at:at + len(block)] = torch.from_numpy(block.T)
                at += len(block)
            rate = source.samplerate
    except soundfile.LibsndfileError as exc:
        raise UnreadableAudio(f"cannot decode {path.name}: {exc.error_string}") from None
    except (RuntimeError, OSError) as exc:
        raise UnreadableAudio(f"cannot decode {path.name}: {failure_message(exc)}") from None
    if at == 0:
        raise UnreadableAudio(f"{path.name} holds no samples")
    return Track(audio[:, :at], rate)


def fit_channels(audio: torch.Tensor, channels: int) -> torch.Tensor:
    if audio.shape[0] == channels:
        return audio
    if audio.shape[0] == 1:
        return audio.expand(channels, -1)
    if channels == 1:
        return audio.mean(0, keepdim=True)
    return audio[:channels] if channels > 2 else torch.stack([audio[0::2].mean(0), audio[1::2].mean(0)])


def level(mix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and deviation (+1e-8) of the channels' mean, demucs' normalisation, summed in float64 block by
    block: no track-long temporary (an hour of stereo is 1.3 GB already)."""
    def reference() -> Iterator[torch.Tensor]:
        return (block.mean(0, dtype=torch.float64) for block in mix.split(READ_BLOCK, -1))

    count = mix.shape[-1]
    mean = sum(block.sum() for block in reference()) / count
    deviation = (sum(((block - mean) ** 2).sum() for block in reference()) / max(1, count - 1)).sqrt()
    return mean.float(), (deviation + 1e-8).float()


def separate_track(engine: Engine, bag: Bag, track: Track, settings: Settings, *, job: int,
                   progress: Callable[[int, int], None] = lambda done, total: None,
                   cancelled: Callable[[], bool] = lambda: False) -> Iterator[torch.Tensor]:
    """The stems in consecutive spans (``(stems, track channels, span)``) at the track's rate, as many
    samples in all as the track."""
    mix = fit_channels(track.audio, bag.audio_channels)
    if track.sample_rate != bag.sample_rate:
        mix = resample(mix, track.sample_rate, bag.sample_rate)
    mean, std = level(mix)
    spans = (span * std + mean for span in engine.stream(bag, mix, settings, job=job, level=(mean, std),
                                                         progress=progress, cancelled=cancelled))
    if track.sample_rate != bag.sample_rate:
        spans = resampled(spans, bag.sample_rate, track.sample_rate, track.samples)
    for span in spans:
        yield torch.stack([fit_channels(stem, track.channels) for stem in span])


def resampled(spans: Iterator[torch.Tensor], orig_freq: int, new_freq: int, samples: int) -> Iterator[torch.Tensor]:
    """``spans`` at ``new_freq``, span by span (as one resampling of them all), cut or padded to ``samples``."""
    resampler, emitted = Resampler(orig_freq, new_freq), 0
    for span in spans:
        out = resampler.push(span)[..., :samples - emitted]
        emitted += out.shape[-1]
        yield out
    rest = resampler.finish()[..., :samples - emitted]
    yield torch.nn.functional.pad(rest, (0, samples - emitted - rest.shape[-1]))


def write_stems(spans: Iterable[torch.Tensor], names: tuple[str, ...], sample_rate: int, channels: int,
                data_dir: Path, folder: str, job_id: int | None = None,
                subtype: str = STEM_SUBTYPE) -> list[dict[str, object]]:
    """Each stem to ``folder/<name>.wav`` under ``data_dir``, span by span as ``spans`` yields them
    (``(stems, channels, span)``); written aside (temp files named after ``job_id``) and renamed into
    place once complete, removed if not."""
    temps = [temp_path(data_dir, job_id) for _ in names]
    try:
        with contextlib.ExitStack() as files:
            sinks = [files.enter_context(soundfile.SoundFile(temp, "w", sample_rate, channels, subtype,
                                                             format=STEM_FORMAT)) for temp in temps]
            for span in spans:
                for sink, stem in zip(sinks, span, strict=True):
                    sink.write(stem.T.numpy())
        written = []
        for name, temp in zip(names, temps, strict=True):
            relative = f"{folder}/{name}.{STEM_EXTENSION}"
            final = promote(temp, data_dir, relative)
            written.append({"name": name, "path": relative, "file_size": final.stat().st_size})
        return written
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
