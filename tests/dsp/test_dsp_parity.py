"""Parity with librosa 0.11 on generated signals, same parameters, at several sample rates.

Errors are measured as max |ours - librosa| / max |librosa| over the whole feature matrix.
Spectral features (STFT, mel, chroma, centroid, rolloff, RMS, zero-crossings, onsets) must agree
to 1e-4, MFCC (in dB, so absolute values reach hundreds) to 1e-3. librosa's chroma estimates
tuning by default; ours fixes A440, so librosa is given `tuning=0.0`.
"""

import librosa
import numpy as np
import pytest

from sfa import dsp

SPECTRAL_RTOL = 1e-4
MFCC_RTOL = 1e-3
RATES = [8000, 22050, 44100, 48000]
DTYPES = [np.float32, np.float64]


def relative_error(ours, reference) -> float:
    ours, reference = np.asarray(ours), np.asarray(reference)
    assert ours.shape == reference.shape
    return float(np.max(np.abs(ours - reference)) / max(np.max(np.abs(reference)), 1e-30))


def test_signal(sr: int, dtype=np.float32, seconds: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(sr)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * (300 + 400 * t) * t)
    y += 0.02 * rng.standard_normal(t.size)
    clicks = np.zeros_like(y)
    clicks[:: int(0.5 * sr)] = 1.0
    y += np.convolve(clicks, np.exp(-np.arange(int(0.02 * sr)) / (0.004 * sr)))[: y.size] * 0.5
    return y.astype(dtype)


test_signal.__test__ = False

SPECTRAL = {
    "stft": (lambda y, sr: dsp.stft(y), lambda y, sr: librosa.stft(y)),
    "melspectrogram": (
        lambda y, sr: dsp.melspectrogram(y=y, sr=sr),
        lambda y, sr: librosa.feature.melspectrogram(y=y, sr=sr),
    ),
    "chroma_stft": (
        lambda y, sr: dsp.chroma_stft(y=y, sr=sr),
        lambda y, sr: librosa.feature.chroma_stft(y=y, sr=sr, tuning=0.0),
    ),
    "spectral_centroid": (
        lambda y, sr: dsp.spectral_centroid(y=y, sr=sr),
        lambda y, sr: librosa.feature.spectral_centroid(y=y, sr=sr),
    ),
    "spectral_rolloff": (
        lambda y, sr: dsp.spectral_rolloff(y=y, sr=sr),
        lambda y, sr: librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.85),
    ),
    "rms": (lambda y, sr: dsp.rms(y=y), lambda y, sr: librosa.feature.rms(y=y)),
    "rms_from_S": (
        lambda y, sr: dsp.rms(S=abs(dsp.stft(y))),
        lambda y, sr: librosa.feature.rms(S=np.abs(librosa.stft(y))),
    ),
    "zero_crossing_rate": (
        lambda y, sr: dsp.zero_crossing_rate(y),
        lambda y, sr: librosa.feature.zero_crossing_rate(y),
    ),
    "onset_strength": (
        lambda y, sr: dsp.onset_strength(y=y, sr=sr),
        lambda y, sr: librosa.onset.onset_strength(y=y, sr=sr),
    ),
    "onset_strength_median": (
        lambda y, sr: dsp.onset_strength(y=y, sr=sr, aggregate="median"),
        lambda y, sr: librosa.onset.onset_strength(y=y, sr=sr, aggregate=np.median),
    ),
}


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("feature", sorted(SPECTRAL))
def test_spectral_feature_matches_librosa(feature: str, sr: int, dtype, xp) -> None:
    ours, theirs = SPECTRAL[feature]
    y = test_signal(sr, dtype)
    assert relative_error(dsp.to_numpy(ours(xp.asarray(y), sr)), theirs(y, sr)) <= SPECTRAL_RTOL


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("sr", RATES)
def test_mfcc_matches_librosa(sr: int, dtype, xp) -> None:
    y = test_signal(sr, dtype)
    ours = dsp.to_numpy(dsp.mfcc(y=xp.asarray(y), sr=sr, n_mfcc=20))
    assert ours.shape[-2] == 20
    assert relative_error(ours, librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)) <= MFCC_RTOL


@pytest.mark.parametrize("sr", [22050, 44100])
def test_power_to_db_and_filterbanks_match_librosa(sr: int, xp) -> None:
    S = np.abs(librosa.stft(test_signal(sr, np.float64))) ** 2
    assert relative_error(dsp.to_numpy(dsp.power_to_db(xp.asarray(S))), librosa.power_to_db(S)) <= SPECTRAL_RTOL
    mel = librosa.filters.mel(sr=sr, n_fft=2048)
    assert relative_error(dsp.mel_filterbank(sr=sr, n_fft=2048), mel) <= 1e-6
    chroma = librosa.filters.chroma(sr=sr, n_fft=2048, tuning=0.0)
    assert relative_error(dsp.chroma_filterbank(sr=sr, n_fft=2048), chroma) <= 1e-6


def test_multichannel_input_keeps_leading_axes(xp) -> None:
    y = np.stack([test_signal(22050), test_signal(22050)[::-1].copy()])
    ours = dsp.to_numpy(dsp.melspectrogram(y=xp.asarray(y), sr=22050))
    assert ours.shape[:2] == (2, 128)
    assert relative_error(ours, librosa.feature.melspectrogram(y=y, sr=22050)) <= SPECTRAL_RTOL


@pytest.mark.parametrize("sr", [22050, 44100])
def test_beat_positions_match_librosa_for_a_given_tempo(sr: int, xp) -> None:
    """With the tempo pinned, our dynamic programme must place exactly librosa's beats."""
    y = test_signal(sr, seconds=10.0)
    envelope = librosa.onset.onset_strength(y=y, sr=sr)
    _, ours = dsp.beat_track(onset_envelope=xp.asarray(envelope), sr=sr, bpm=120.0)
    _, theirs = librosa.beat.beat_track(onset_envelope=envelope, sr=sr, bpm=120.0)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("sr", [22050, 44100])
def test_tempo_agrees_with_librosa_within_its_lag_grid(sr: int, xp) -> None:
    """librosa rounds to whole lags of the tempogram; ours interpolates, so allow one lag step."""
    y = test_signal(sr, seconds=10.0)
    envelope = librosa.onset.onset_strength(y=y, sr=sr)
    theirs = float(librosa.feature.tempo(onset_envelope=envelope, sr=sr)[0])
    ours = dsp.autocorrelation_tempo(onset_envelope=xp.asarray(envelope), sr=sr)
    lag = sr / 512 * 60 / theirs
    assert abs(ours - theirs) <= theirs * (1 / (lag - 1) if lag > 1 else 1)
