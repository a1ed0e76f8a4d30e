"""Time sfa.dsp against librosa on a generated 3-minute stereo 44.1 kHz track.

    python -m bench.dsp [--backend numpy|cupy] [--repeat 5]

Both libraries get the same mono float32 signal and the same parameters: the frames `analyze` uses at
44.1 kHz (n_fft=4096, hop 1024: the 93 ms frames of librosa's defaults at its own 22.05 kHz rate),
128 mels, 20 MFCC, chroma with tuning fixed at A440. Each figure is the best of `--repeat` runs after a
warm-up (librosa's numba kernels compile on first use), the two libraries taking turns. "all features"
is the sum of the per-feature rows, each library computing every feature from the signal. "analyze" is
`sfa.dsp.analyze` on the stereo track (downmix, one STFT shared by every feature, streamed in
stretches, including what librosa has no call for: tuning, tuned pitch classes and chords per beat),
set against that sum and, the strict comparison, against librosa computing the same
features from one shared STFT. On CuPy every sfa.dsp run ends with a device synchronisation, so
kernels still queued count."""

import argparse
import os
import time
from collections.abc import Callable

import librosa
import numpy as np

from sfa import dsp

SR = 44100
SECONDS = 180
N_FFT, HOP = dsp.frame_parameters(SR)


def track() -> np.ndarray:
    """Stereo `(2, n)` float32: a drum loop at 128 BPM over an A minor progression."""
    rng = np.random.default_rng(7)
    t = np.arange(SR * SECONDS) / SR
    beat = 60 / 128
    y = 0.01 * rng.standard_normal(t.size)
    for k in range(int(SECONDS / beat)):
        start = int(k * beat * SR)
        tail = np.arange(min(int(0.2 * SR), t.size - start)) / SR
        y[start : start + tail.size] += np.sin(2 * np.pi * 55 * tail) * np.exp(-tail / 0.06)
    for root, k in zip([57, 62, 64, 57], range(4), strict=True):
        notes = [root, root + 3, root + 7] if root != 64 else [64, 68, 71]
        segment = (t >= k * SECONDS / 4) & (t < (k + 1) * SECONDS / 4)
        for note in notes:
            y[segment] += 0.2 * np.sin(2 * np.pi * 440 * 2 ** ((note - 69) / 12) * t[segment])
    left = (0.4 * y / np.max(np.abs(y))).astype(np.float32)
    return np.stack([left, np.roll(left, 441)])


def race(ours: Callable[[], object], theirs: Callable[[], object], repeat: int,
         finish: Callable[[], object] = lambda: None) -> tuple[float, float]:
    """Best times of `ours` (then `finish`, a device sync) and `theirs`, run in turns so that both meet the
    same machine: a slow spell on a shared host then costs each side alike."""
    def timed(run: Callable[[], object], then: Callable[[], object]) -> float:
        start = time.perf_counter()
        run()
        then()
        return time.perf_counter() - start

    timed(ours, finish)
    timed(theirs, lambda: None)
    rounds = [(timed(ours, finish), timed(theirs, lambda: None)) for _ in range(repeat)]
    return min(o for o, _ in rounds), min(t for _, t in rounds)


def cases(y: np.ndarray, xp) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    sr = SR
    frames = {"n_fft": N_FFT, "hop_length": HOP}
    y_ours = xp.asarray(y)
    return {
        "stft": (lambda: dsp.stft(y_ours, **frames, xp=xp), lambda: librosa.stft(y, **frames)),
        "melspectrogram": (
            lambda: dsp.melspectrogram(y=y_ours, sr=sr, **frames, xp=xp),
            lambda: librosa.feature.melspectrogram(y=y, sr=sr, **frames),
        ),
        "mfcc": (
            lambda: dsp.mfcc(y=y_ours, sr=sr, **frames, xp=xp),
            lambda: librosa.feature.mfcc(y=y, sr=sr, **frames),
        ),
        "chroma_stft": (
            lambda: dsp.chroma_stft(y=y_ours, sr=sr, **frames, xp=xp),
            lambda: librosa.feature.chroma_stft(y=y, sr=sr, tuning=0.0, **frames),
        ),
        "spectral_centroid": (
            lambda: dsp.spectral_centroid(y=y_ours, sr=sr, **frames, xp=xp),
            lambda: librosa.feature.spectral_centroid(y=y, sr=sr, **frames),
        ),
        "spectral_rolloff": (
            lambda: dsp.spectral_rolloff(y=y_ours, sr=sr, **frames, xp=xp),
            lambda: librosa.feature.spectral_rolloff(y=y, sr=sr, **frames),
        ),
        "zero_crossing_rate": (
            lambda: dsp.zero_crossing_rate(y_ours, frame_length=N_FFT, hop_length=HOP, xp=xp),
            lambda: librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP),
        ),
        "rms": (
            lambda: dsp.rms(y=y_ours, frame_length=N_FFT, hop_length=HOP, xp=xp),
            lambda: librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP),
        ),
        "onset_strength": (
            lambda: dsp.onset_strength(y=y_ours, sr=sr, **frames, xp=xp),
            lambda: librosa.onset.onset_strength(y=y, sr=sr, **frames),
        ),
        "tempo + beats": (
            lambda: dsp.beat_track(
                onset_envelope=dsp.onset_strength(y=y_ours, sr=sr, **frames, xp=xp), sr=sr, hop_length=HOP
            ),
            lambda: librosa.beat.beat_track(
                onset_envelope=librosa.onset.onset_strength(y=y, sr=sr, **frames), sr=sr, hop_length=HOP
            ),
        ),
        "key (chroma + profiles)": (
            lambda: dsp.estimate_key(chroma=dsp.chroma_stft(y=y_ours, sr=sr, **frames, xp=xp)),
            lambda: dsp.key_from_profile(librosa.feature.chroma_stft(y=y, sr=sr, tuning=0.0, **frames).mean(axis=1)),
        ),
    }


def librosa_shared_stft(y: np.ndarray) -> None:
    """Every feature with librosa as a careful user would call it: one STFT, the rest from spectrograms."""
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    power = S**2
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=SR))
    librosa.feature.mfcc(S=mel_db, sr=SR)
    chroma = librosa.feature.chroma_stft(S=power, sr=SR, tuning=0.0)
    librosa.feature.spectral_centroid(S=S, sr=SR)
    librosa.feature.spectral_rolloff(S=S, sr=SR)
    librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP)
    librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP)
    envelope = librosa.onset.onset_strength(S=mel_db, sr=SR, n_fft=N_FFT, hop_length=HOP)
    librosa.beat.beat_track(onset_envelope=envelope, sr=SR, hop_length=HOP)
    dsp.key_from_profile(chroma.mean(axis=1))


def report(title: str, stereo: np.ndarray, xp, repeat: int) -> None:
    mono = stereo.mean(axis=0)
    sync = xp.cuda.Device().synchronize if xp is not np else lambda: None
    print(f"\n{title}")
    print(f"{'feature':<26}{'sfa.dsp s':>11}{'librosa s':>11}{'speed-up':>10}")
    ours_total = theirs_total = 0.0
    for name, (ours, theirs) in cases(mono, xp).items():
        ours_s, theirs_s = race(ours, theirs, repeat, sync)
        ours_total += ours_s
        theirs_total += theirs_s
        print(f"{name:<26}{ours_s:>11.3f}{theirs_s:>11.3f}{theirs_s / ours_s:>9.1f}x")
    print(f"{'all features':<26}{ours_total:>11.3f}{theirs_total:>11.3f}{theirs_total / ours_total:>9.1f}x")
    analyze_s, shared_s = race(lambda: dsp.analyze(stereo, SR, xp=xp), lambda: librosa_shared_stft(mono), repeat, sync)
    print(f"{'analyze (one pass)':<26}{analyze_s:>11.3f}{theirs_total:>11.3f}{theirs_total / analyze_s:>9.1f}x")
    print(f"{'  vs librosa, one STFT':<26}{analyze_s:>11.3f}{shared_s:>11.3f}{shared_s / analyze_s:>9.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    stereo = track()
    print(f"track: {SECONDS} s stereo at {SR} Hz, n_fft {N_FFT}, hop {HOP}; librosa {librosa.__version__}, "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    report("NumPy (CPU)", stereo, np, args.repeat)
    if args.backend == "cupy":
        cupy = dsp.get_xp("cupy")
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        report(f"CuPy on {name} (librosa on CPU)", stereo, cupy, args.repeat)


if __name__ == "__main__":
    main()
