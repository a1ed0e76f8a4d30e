"""Tuning, tuned pitch classes and chords per beat on synthesized progressions with known chords."""

import numpy as np
import pytest
from dsp_synth import chord_names, chord_progression, drum_loop, key_name

from sfa import dsp
from sfa.dsp import harmony

SR = 22050


@pytest.mark.parametrize("cents", [-45, -20, 0, 15, 40])
def test_tuning_is_estimated_from_the_spectrum(cents: float, xp) -> None:
    n_fft, hop = dsp.frame_parameters(SR)
    magnitude = xp.abs(dsp.stft(xp.asarray(chord_progression(2, "major", sr=SR, cents=cents)), n_fft=n_fft,
                                hop_length=hop))
    tuning = harmony.estimate_tuning(xp.mean(magnitude, axis=-1), sr=SR, n_fft=n_fft)
    assert tuning == pytest.approx(cents / 100, abs=0.05)


def test_keys_hold_a_band_tuned_40_cents_sharp() -> None:
    """A band tuned 40 cents sharp sits nearer the next semitone than its own: without the tuning
    estimate every key would come out a semitone high."""
    right = sum(dsp.estimate_key(y=chord_progression(tonic, mode, sr=SR, cents=40), sr=SR)[0] == key_name(tonic, mode)
                for mode in ("major", "minor") for tonic in range(12))
    assert right >= 22


def test_filterbank_gives_each_bin_in_its_band_one_unit_of_weight() -> None:
    basis = harmony.pitch_class_filterbank(sr=SR, n_fft=2048, tuning=0.0, band=harmony.TREBLE_BAND)
    freqs = dsp.fft_frequencies(sr=SR, n_fft=2048)
    inside = (freqs >= 220) & (freqs <= 1760)
    np.testing.assert_allclose(basis.sum(axis=0)[inside], 1.0)
    assert not basis[:, ~inside].any()
    assert np.argmax(basis[:, np.argmin(np.abs(freqs - 440.0))]) == 9


@pytest.mark.parametrize(("tonic", "mode", "bpm"), [(9, "minor", 100), (0, "major", 128), (6, "major", 84)])
def test_chords_of_nine_in_ten_beats_are_right(tonic: int, mode: str, bpm: float, xp) -> None:
    """A bar per chord over a drum loop; each beat's chord is read halfway through the beat."""
    bar = 4 * 60 / bpm
    harmony_part = np.tile(chord_progression(tonic, mode, sr=SR, chord_seconds=bar), 2)
    drums = drum_loop(bpm, sr=SR, seconds=harmony_part.size / SR)[: harmony_part.size]
    y = (0.6 * drums / np.abs(drums).max() + 0.4 * harmony_part / np.abs(harmony_part).max()).astype(np.float32)
    result = dsp.analyze(y, SR, features=["chords"], xp=xp)
    assert set(result) == {"duration", "sample_rate", "chords"}
    chords = result["chords"]
    times = np.array([chord["time"] for chord in chords])
    expected = chord_names(tonic, mode) * 2
    beats = np.arange(int(harmony_part.size / SR / (60 / bpm))) * 60 / bpm + 30 / bpm
    found = [chords[int(np.searchsorted(times, when, side="right")) - 1]["chord"] for when in beats]
    truth = [expected[int(when // bar)] for when in beats]
    assert np.mean([a == b for a, b in zip(found, truth, strict=True)]) >= 0.9, list(zip(found, truth, strict=True))
    assert all(0.0 <= chord["confidence"] <= 1.0 for chord in chords)


def test_quiet_or_pitchless_beats_are_no_chord() -> None:
    chroma = np.zeros((24, 40), dtype=np.float32)
    chroma[:, 20:] = 1.0
    chroma[12 + 4, 30:] = 5.0
    chords = harmony.beat_chords(chroma, np.array([0, 10, 20, 30]), 0.05)
    assert [chord["chord"] for chord in chords][:3] == ["N", "N", "N"]
    assert [chord["time"] for chord in chords] == [0.0, 0.5, 1.0, 1.5]
    assert harmony.beat_chords(chroma, np.zeros(0, dtype=np.int64), 0.05) == []
