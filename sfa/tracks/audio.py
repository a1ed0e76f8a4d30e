"""What an audio file is, learned by decoding all of it: a file that does not decode end to end is refused.

Runs anywhere (a worker process, or a thread of the server): it reads the file block by block, so memory
stays flat however long the file is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import soundfile

# libsndfile's format name -> the extension we store the file under.
FORMATS = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3"}
BLOCK_FRAMES = 65536


class NotAudio(ValueError):
    """The file is not audio we accept; ``str()`` says why, for the client."""


@dataclass(frozen=True, slots=True)
class AudioInfo:
    format: str
    frames: int
    sample_rate: int
    channels: int

    @property
    def extension(self) -> str:
        return FORMATS[self.format]

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def probe(path: Path) -> AudioInfo:
    """Decode ``path`` completely; its format, length in frames, sample rate and channels, or NotAudio."""
    try:
        with soundfile.SoundFile(path) as audio:
            if audio.format not in FORMATS:
                raise NotAudio(f"unsupported audio format {audio.format}; send wav, flac, ogg or mp3")
            frames = sum(len(block) for block in audio.blocks(BLOCK_FRAMES, dtype="float32"))
            info = AudioInfo(audio.format, frames, audio.samplerate, audio.channels)
    except soundfile.LibsndfileError as exc:
        raise NotAudio(f"not a readable audio file ({exc.error_string.rstrip('.')})") from None
    except (RuntimeError, OSError):
        raise NotAudio("not a readable audio file") from None
    if info.frames == 0 or info.sample_rate <= 0:
        raise NotAudio("the audio file holds no samples")
    return info
