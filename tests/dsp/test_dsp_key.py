"""Key estimation on synthesized chord progressions in all 24 keys (I-IV-V-I, minor with a major V)."""

import numpy as np
import pytest
from dsp_synth import NOTE_NAMES, _tone, chord_progression, key_name

from sfa import dsp
from sfa.dsp import harmony
from sfa.dsp.backend import to_numpy

KEYS = [(tonic, mode) for mode in ("major", "minor") for tonic in range(12)]


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000, 96000])
def test_at_least_22_of_24_keys(sr: int, xp) -> None:
    found = {
        key_name(tonic, mode): dsp.estimate_key(y=xp.asarray(chord_progression(tonic, mode, sr=sr)), sr=sr)
        for tonic, mode in KEYS
    }
    correct = [name for name, (estimate, _) in found.items() if estimate == name]
    assert len(correct) >= 22, found
    assert all(0.0 < confidence <= 1.0 for _, confidence in found.values())


def test_analyze_names_the_key() -> None:
    result = dsp.analyze(chord_progression(9, "minor", sr=44100), 44100, features=["key"])
    assert result["key"] == "A minor"
    assert 0.5 < result["key_confidence"] <= 1.0


def test_key_names_use_sharps() -> None:
    assert set(dsp.key_scores(np.ones(12) + np.eye(12)[1])) == {
        f"{name} {mode}" for name in NOTE_NAMES for mode in ("major", "minor")
    }


def test_flat_profile_has_no_key() -> None:
    assert dsp.key_from_profile(np.zeros(12)) == (None, 0.0)
    with pytest.raises(dsp.ParameterError, match="12"):
        dsp.key_from_profile(np.ones(7))


@pytest.mark.parametrize(("bass_hz", "key"), [(65.41, "C major"), (55.0, "A minor")])
def test_the_bass_decides_between_relative_keys(bass_hz: float, key: str, xp) -> None:
    # The treble holds C, E, G and A evenly, notes of both C major and A minor; only the bass tells them apart.
    sr = 22050
    t = np.arange(8 * sr) / sr
    treble = sum(_tone(hz, t) for hz in (261.63, 329.63, 392.0, 440.0))
    y = (0.1 * treble + 0.2 * _tone(bass_hz, t)).astype(np.float32)
    assert dsp.estimate_key(y=xp.asarray(y), sr=sr)[0] == key
    assert dsp.analyze(y, sr, features=["key"], xp=xp)["key"] == key


def test_spectral_peaks_keep_only_the_local_maxima_over_frequency(xp) -> None:
    magnitude = xp.asarray(np.array([[1.0, 0.0], [3.0, 1.0], [2.0, 2.0], [5.0, 2.0], [4.0, 1.0]]))
    peaks = to_numpy(harmony.spectral_peaks(magnitude, xp=xp))
    np.testing.assert_array_equal(peaks, [[0, 0], [3, 0], [0, 2], [5, 2], [0, 0]])


def test_a_rate_too_low_for_any_note_has_no_key() -> None:
    y = np.random.default_rng(0).standard_normal(40 * 50).astype(np.float32)
    assert dsp.analyze(y, 40, features=["key"])["key"] is None


@pytest.mark.parametrize("hz", [55.0, 58.27, 61.74])
def test_a_low_bass_note_lands_on_its_own_pitch_class(hz: float, xp) -> None:
    # At 22.05 kHz one STFT bin spans three semitones at 55 Hz: the peak's interpolated frequency places it.
    sr = 22050
    n_fft, hop = dsp.frame_parameters(sr)
    t = np.arange(4 * sr) / sr
    magnitude = xp.abs(dsp.stft(xp.asarray(np.sin(2 * np.pi * hz * t).astype(np.float32)), n_fft=n_fft,
                                hop_length=hop))
    bass = to_numpy(harmony.key_pitch_classes(magnitude, sr=sr, n_fft=n_fft, tuning=0.0, xp=xp)).sum(axis=-1)[:12]
    assert int(np.argmax(bass)) == round(12 * np.log2(hz / 440.0) + 69) % 12
    assert bass.max() > 0.9 * bass.sum()
