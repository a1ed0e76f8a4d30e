"""`analyze` and `analyze_file`: the summary's shape, streaming equivalence and robustness."""

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile
from dsp_synth import chord_progression, drum_loop

from sfa import dsp

SR = 22050


def song(sr: int = SR, seconds: float = 8.0) -> np.ndarray:
    drums = drum_loop(110, sr=sr, seconds=seconds)
    chords = np.tile(chord_progression(9, "minor", sr=sr, chord_seconds=1.0), math.ceil(seconds / 4))
    return (drums + chords[: drums.size]).astype(np.float32)


def assert_finite_summary(result: dict) -> None:
    json.dumps(result, allow_nan=False)
    assert len(result["features"]["mfcc"]) == 20
    assert len(result["features"]["chroma"]) == 12
    for name in ("key_confidence", "energy", "energy_peak", "spectral_centroid",
                 "spectral_rolloff", "zero_crossing_rate"):
        assert math.isfinite(result[name]), name
    assert (result["tempo"] is None) == isinstance(result["tempo_reason"], str)
    assert result["tempo"] is None or math.isfinite(result["tempo"])


def test_summary_matches_the_feature_functions_on_the_whole_signal(xp) -> None:
    """The streamed summary, on either backend, must equal the NumPy feature functions' means over the
    whole signal."""
    y = song(seconds=30.0)
    result = dsp.analyze(y, SR, xp=xp)
    assert_finite_summary(result)
    assert result["duration"] == pytest.approx(30.0)
    assert result["key"] == "A minor"
    assert result["tempo"] == pytest.approx(110, rel=0.02)
    expected = {
        "spectral_centroid": dsp.spectral_centroid(y=y, sr=SR).mean(),
        "spectral_rolloff": dsp.spectral_rolloff(y=y, sr=SR).mean(),
        "zero_crossing_rate": dsp.zero_crossing_rate(y).mean(),
        "energy": dsp.rms(y=y).mean(),
        "energy_peak": dsp.rms(y=y).max(),
        "tempo": dsp.tempo(y=y, sr=SR),
    }
    for name, value in expected.items():
        assert result[name] == pytest.approx(float(value), rel=1e-5), name
    np.testing.assert_allclose(result["features"]["mfcc"], dsp.mfcc(y=y, sr=SR).mean(axis=-1), atol=1e-3)
    chroma = dsp.chroma_stft(y=y, sr=SR).mean(axis=-1)
    np.testing.assert_allclose(result["features"]["chroma"], chroma, atol=1e-6)
    _, beats = dsp.beat_track(y=y, sr=SR)
    np.testing.assert_allclose(result["beats"], beats * 512 / SR, atol=1e-3)
    frames = dsp.rms(y=y)[0]
    per_bin = round(result["energy_curve"]["hop_s"] * SR / 512)
    assert len(result["energy_curve"]["values"]) == math.ceil(frames.size / per_bin)
    assert result["energy_curve"]["values"][1] == pytest.approx(frames[per_bin:2 * per_bin].mean(), rel=1e-4)
    centroid = dsp.spectral_centroid(y=y, sr=SR)[0]
    assert result["centroid_curve"]["values"][1] == pytest.approx(centroid[per_bin:2 * per_bin].mean(), rel=1e-4)
    frame_chroma = dsp.chroma_stft(y=y, sr=SR)
    assert result["chroma_curve"]["hop_s"] == result["energy_curve"]["hop_s"]
    assert len(result["chroma_curve"]["values"]) == len(result["energy_curve"]["values"])
    np.testing.assert_allclose(result["chroma_curve"]["values"][1],
                               frame_chroma[:, per_bin:2 * per_bin].mean(axis=-1), atol=6e-4)


def test_feature_groups_select_keys() -> None:
    result = dsp.analyze(song(seconds=4.0), SR, features=["energy"])
    assert set(result) == {"duration", "sample_rate", "energy", "energy_peak", "energy_curve"}
    assert set(dsp.analyze(song(seconds=4.0), SR, features="all")) >= {"tempo", "key", "features", "beats"}
    with pytest.raises(dsp.ParameterError, match="unknown features"):
        dsp.analyze(song(seconds=1.0), SR, features=["loudness"])


def test_stereo_file_equals_its_downmix(tmp_path: Path) -> None:
    left, right = song(seconds=6.0), song(seconds=6.0)[::-1]
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    from_file = dsp.analyze_file(path)
    from_memory = dsp.analyze(np.stack([left, right]), SR)
    mono = dsp.analyze((left + right) / 2, SR)
    assert from_file["beats"] == from_memory["beats"]
    for name in ("mfcc", "chroma"):
        assert from_file["features"][name] == pytest.approx(from_memory["features"][name])
    scalars = {name: value for name, value in from_memory.items() if isinstance(value, float)}
    assert {name: from_file[name] for name in scalars} == pytest.approx(scalars)
    assert from_file["key"] == from_memory["key"]
    assert from_file["energy"] == pytest.approx(mono["energy"], rel=1e-5)
    assert from_file["key"] == mono["key"]


@pytest.mark.parametrize("sr", [8000, 16000, 44100, 96000, 192000])
def test_sample_rates_from_8_to_192_khz(tmp_path: Path, sr: int, xp) -> None:
    path = tmp_path / f"song-{sr}.flac" if sr <= 96000 else tmp_path / f"song-{sr}.wav"
    soundfile.write(path, song(sr=sr, seconds=8.0), sr)
    result = dsp.analyze_file(path, xp=xp)
    assert_finite_summary(result)
    assert result["sample_rate"] == sr
    assert result["duration"] == pytest.approx(8.0)
    assert result["tempo"] == pytest.approx(110, rel=0.02)
    assert result["key"] == "A minor"


def test_one_second_clip() -> None:
    result = dsp.analyze(song(seconds=1.0), SR)
    assert_finite_summary(result)
    assert result["duration"] == pytest.approx(1.0)


@pytest.mark.parametrize("samples", [1, 100, 2047])
def test_shorter_than_one_frame(samples: int, xp) -> None:
    assert_finite_summary(dsp.analyze(song(seconds=1.0)[:samples], SR, xp=xp))


def test_silence_gives_zeros_not_nan(xp) -> None:
    result = dsp.analyze(np.zeros(SR * 3, dtype=np.float32), SR, xp=xp)
    assert_finite_summary(result)
    assert result["tempo"] is None
    assert result["tempo_reason"] == "silence: no onsets"
    assert result["beats"] == []
    assert result["chords"] == []
    assert result["key"] is None
    assert result["key_confidence"] == 0.0
    assert result["energy"] == 0.0
    assert result["spectral_centroid"] == 0.0


def test_pure_tone(xp) -> None:
    t = np.arange(SR * 3) / SR
    result = dsp.analyze(0.5 * np.sin(2 * np.pi * 440.0 * t), SR, xp=xp)
    assert_finite_summary(result)
    assert result["energy"] == pytest.approx(0.5 / math.sqrt(2), rel=0.02)
    assert result["spectral_centroid"] == pytest.approx(440.0, rel=0.05)
    assert int(np.argmax(result["features"]["chroma"])) == 9
    assert result["key"].startswith("A ")
    assert result["zero_crossing_rate"] == pytest.approx(2 * 440.0 / SR, rel=0.02)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_rejected(tmp_path: Path, bad: float) -> None:
    y = song(seconds=2.0)
    y[1000] = bad
    with pytest.raises(dsp.ParameterError, match="NaN or infinite"):
        dsp.analyze(y, SR)
    with pytest.raises(dsp.ParameterError, match="NaN or infinite"):
        dsp.rms(y=y)
    path = tmp_path / "bad.wav"
    soundfile.write(path, y, SR, subtype="FLOAT")
    with pytest.raises(dsp.ParameterError, match="NaN or infinite"):
        dsp.analyze_file(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"RIFF\x00\x00\x00\x00WAVEfmt garbage", bytes(range(256)) * 64],
    ids=["empty", "header", "noise"],
)
def test_undecodable_file_raises_audio_decode_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(dsp.AudioDecodeError, match="cannot decode"):
        dsp.analyze_file(path)


def test_missing_file_raises_audio_decode_error(tmp_path: Path) -> None:
    with pytest.raises(dsp.AudioDecodeError):
        dsp.analyze_file(tmp_path / "absent.flac")


def test_empty_audio_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(dsp.ParameterError, match="at least one sample"):
        dsp.analyze(np.zeros(0, dtype=np.float32), SR)
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(dsp.ParameterError, match="empty"):
        dsp.analyze_file(path)


MEMORY_PROBE = textwrap.dedent(
    """
    import json, resource, sys, time
    from sfa import dsp
    start = time.perf_counter()
    result = dsp.analyze_file(sys.argv[1])
    # VmHWM is this program's own peak; ru_maxrss also keeps the forked parent's pages from before exec.
    hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
    peak = int(hwm[0].split()[1]) * 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak": peak, "seconds": time.perf_counter() - start, "result": result}))
    """
)


def test_an_hour_long_file_stays_under_one_gigabyte(tmp_path: Path) -> None:
    """A 60-minute stereo file, written in blocks, is analysed in a fresh process whose peak RSS
    (interpreter, NumPy and SciPy included) must stay below 1 GB."""
    path = tmp_path / "hour.wav"
    loop = np.stack([song(seconds=60.0), song(seconds=60.0)[::-1]], axis=1)
    with soundfile.SoundFile(path, "w", samplerate=SR, channels=2, subtype="PCM_16") as sink:
        for _ in range(60):
            sink.write(loop)
    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(dsp.__file__).parents[2],
    )
    report = json.loads(probe.stdout)
    assert report["result"]["duration"] == pytest.approx(3600.0)
    assert report["peak"] < 1_000_000_000, report["peak"]
    assert_finite_summary(report["result"])
