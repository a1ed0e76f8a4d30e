"""Real audio files for tests, written with libsndfile: a short stereo tone in any format we accept."""

from __future__ import annotations

import io

import numpy as np
import soundfile

SUBTYPES = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
            "mp3": ("MP3", "MPEG_LAYER_III")}


def tone(seconds: float = 0.5, *, sample_rate: int = 22050, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    mono = 0.3 * np.sin(2 * np.pi * 440 * t)
    return np.stack([mono] * channels, axis=1).astype(np.float32)


def audio_bytes(extension: str = "wav", seconds: float = 0.5, *, sample_rate: int = 22050, channels: int = 2) -> bytes:
    container, subtype = SUBTYPES[extension]
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(seconds, sample_rate=sample_rate, channels=channels), sample_rate,
                    format=container, subtype=subtype)
    return buffer.getvalue()
