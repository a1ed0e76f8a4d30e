"""Tracks: rows owned by a user, their audio and stems under ``SFA_DATA_DIR``, uploads and validation."""

from sfa.tracks.audio import AudioInfo, NotAudio, probe
from sfa.tracks.store import Stem, Track, get_stem, get_track, latest_analysis

__all__ = ["AudioInfo", "NotAudio", "Stem", "Track", "get_stem", "get_track", "latest_analysis", "probe"]
