"""Tempo and beats on synthesized drum patterns with a known tempo.

Octave errors are failures: a 70 BPM pattern read as 140, or a 180 BPM one read as 90, does not pass.
Each pattern is a rock beat (kick on 1 and 3, snare on 2 and 4, hi-hat on every eighth), whose
quarter note is the tempo; the estimate must lie within 2% of it.
"""

import numpy as np
import pytest
from dsp_synth import drum_loop, speech_like

from sfa import dsp

TEMPI = list(range(70, 181, 10))
TOLERANCE = 0.02


@pytest.mark.parametrize("bpm", TEMPI)
def test_tempo_of_a_drum_pattern_within_two_percent(bpm: int, xp) -> None:
    y = xp.asarray(drum_loop(bpm, sr=22050))
    assert dsp.tempo(y=y, sr=22050) == pytest.approx(bpm, rel=TOLERANCE)


@pytest.mark.parametrize(("bpm", "sr"), [(72, 8000), (96, 44100), (124, 48000), (176, 44100), (140, 96000)])
def test_analyze_tempo_and_beats_at_other_rates(bpm: int, sr: int, xp) -> None:
    """Through `analyze`, which scales its frames to the sample rate; beats land on the quarter notes."""
    result = dsp.analyze(drum_loop(bpm, sr=sr, seconds=15.0), sr, features=["tempo"], xp=xp)
    assert result["tempo"] == pytest.approx(bpm, rel=TOLERANCE)
    beats = np.array(result["beats"])
    assert len(beats) >= 15 * bpm / 60 * 0.8
    assert np.median(np.diff(beats)) == pytest.approx(60 / bpm, rel=0.05)
    _, hop = dsp.frame_parameters(sr)
    frame = hop / sr
    offsets = (beats / (60 / bpm)) % 1.0
    distance = np.minimum(offsets, 1 - offsets) * 60 / bpm
    assert np.median(distance) <= 2 * frame


def test_beat_track_returns_frames_and_tempo() -> None:
    y = drum_loop(120, sr=22050, seconds=10.0)
    bpm, beats = dsp.beat_track(y=y, sr=22050)
    assert bpm == pytest.approx(120, rel=TOLERANCE)
    assert beats.dtype == np.int64
    assert np.all(np.diff(beats) > 0)


def test_no_onsets_means_no_tempo() -> None:
    silence = np.zeros(22050 * 5, dtype=np.float32)
    assert dsp.tempo(y=silence, sr=22050) == 0.0
    bpm, beats = dsp.beat_track(y=silence, sr=22050)
    assert bpm == 0.0
    assert beats.size == 0


def test_rhythm_rejects_bad_parameters() -> None:
    y = drum_loop(100, sr=22050, seconds=3.0)
    with pytest.raises(ValueError, match="lag"):
        dsp.onset_strength(y=y, lag=0)
    with pytest.raises(ValueError, match="aggregate"):
        dsp.onset_strength(y=y, aggregate="max")
    with pytest.raises(ValueError, match="mono"):
        dsp.tempo(y=np.stack([y, y]))
    with pytest.raises(ValueError, match="positive"):
        dsp.beat_track(y=y, bpm=-5)


@pytest.mark.parametrize("signal", ["white noise", "speech-like bursts"])
def test_no_steady_pulse_means_no_tempo(signal: str, xp) -> None:
    y = speech_like(seed=3) if signal != "white noise" else np.random.default_rng(0).standard_normal(
        22050 * 10).astype(np.float32) * 0.2
    estimate = dsp.estimate_tempo(y=xp.asarray(y), sr=22050)
    assert estimate.bpm is None
    assert estimate.reason.startswith("no steady pulse")
    assert estimate.strength < dsp.rhythm.PULSE_THRESHOLD
    assert dsp.tempo(y=xp.asarray(y), sr=22050) == 0.0
    assert dsp.beat_track(y=xp.asarray(y), sr=22050)[1].size == 0


def test_a_pulse_is_strong_even_under_noise(xp) -> None:
    y = drum_loop(96, sr=22050) + 0.05 * np.random.default_rng(1).standard_normal(22050 * 20).astype(np.float32)
    estimate = dsp.estimate_tempo(y=xp.asarray(y), sr=22050)
    assert estimate.bpm == pytest.approx(96, rel=TOLERANCE)
    assert estimate.strength > 3 * dsp.rhythm.PULSE_THRESHOLD and estimate.reason is None
