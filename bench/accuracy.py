"""How right `sfa.dsp.analyze` is on music, side by side with librosa on the same audio.

    python -m bench.accuracy [--data bench/data] [--songs 24]

Three sets:
- annotated recordings (`bench/data/`, see its README for each file's source, licence and annotation):
  tempo, beats and keys from open MIR projects' test data and published key annotations (GTZAN's by
  Kraft and Lerch), and pieces whose title names their key. They are not part of the repository (their
  sources' terms do not allow it); the rows of files that are absent are skipped and counted.
- rendered songs (`bench.songs`): 24 multi-instrument songs, one per key, eight tempi from 72 to 174 BPM,
  with cadential progressions; tempo, beats, key and the chord of every beat are exact.
- non-music (silence, noise, a babble of synthetic vowels at speech rate, and a recorded voice among
  the recordings): the right tempo is none.

librosa is used as its users would: `beat.beat_track` for tempo and beats, `feature.chroma_stft` (tuning
estimated) averaged over time and correlated with the Krumhansl-Kessler profiles for the key.

Scores: tempo is right within 4% of the annotation; within 4% of twice or half of it is counted apart
as an octave error. Beat F-measure is mir_eval's (70 ms window, no trimming of the first 5 s since
most clips are shorter). Keys count exact matches and the MIREX weighted score (fifth 0.5, relative
0.3, parallel 0.2). The key confidence's AUC is the chance that a right answer is more confident than a
wrong one. Chords: share of annotated beats whose chord (24 triads and N) is right. The last line is
`tempo A/N, key B/M, beat F C` for sfa over every annotated file (recordings and songs).
"""

import argparse
import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import mir_eval
import numpy as np
import soundfile

from bench import songs
from sfa import dsp

_KK = {
    "major": np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    "minor": np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
}
_TOLERANCE = 0.04


@dataclass
class Case:
    """One piece of audio and what is known about it (None where nothing is)."""

    name: str
    y: np.ndarray
    sr: float
    tempo: float | None = None
    beats: np.ndarray | None = None
    key: str | None = None
    chords: tuple[str, ...] | None = None
    music: bool = True


@dataclass
class Answer:
    tempo: float | None
    beats: np.ndarray
    key: str | None
    confidence: float = 0.0
    chords: list[dict] = field(default_factory=list)


def _load(path: Path) -> tuple[np.ndarray, float]:
    y, sr = soundfile.read(path, dtype="float32", always_2d=True)
    return y.mean(axis=1), float(sr)


def _rows(path: Path, column: int = 0, *, delimiter: str | None = None, skip: int = 0) -> np.ndarray:
    lines = path.read_text().splitlines()[skip:]
    return np.array([float(line.split(delimiter)[column]) for line in lines
                     if line.strip() and not line.startswith("#")])


def _jtd_beats(path: Path) -> np.ndarray:
    with path.open() as handle:
        return np.array([float(row["beats"]) for row in csv.DictReader(handle)])


def _jams_tempo(path: Path) -> float:
    """The tempo most annotators tapped: the most confident of a JAMS file's tempo observations."""
    annotations = json.loads(path.read_text())["annotations"]
    observations = next(a for a in annotations if a["namespace"] == "tempo")["data"]
    return float(max(observations, key=lambda o: o["confidence"] or 0.0)["value"])


def _first_line(path: Path) -> str:
    return path.read_text().split("\n")[0].strip()


def _lerch_key(path: Path) -> str:
    """A GTZAN key annotation of Kraft and Lerch (2013): 0-11 major and 12-23 minor, counted from A."""
    number = int(path.read_text().split()[0])
    return f"{songs.PITCH_CLASSES[(number + 9) % 12]} {'major' if number < 12 else 'minor'}"


# (audio file, annotation reader giving the Case's known fields); see bench/data/README.md.
_RECORDINGS: tuple[tuple[str, Callable[[Path], dict]], ...] = (
    ("madmom_sample.wav", lambda d: {"tempo": 87.5, "beats": _rows(d / "madmom_sample.beats")}),
    ("ballroom_Media-105901.wav", lambda d: {"tempo": 84.0}),
    ("gtzan_country.00000.wav",
     lambda d: {"tempo": 85.53, "key": _lerch_key(d / "gtzan_country.00000.lerch.txt")}),
    ("hainsworth_hains001.flac", lambda d: {"tempo": 100.16}),
    ("cuidado_FallaCancion.flac", lambda d: {"tempo": 191.27}),
    ("simac_01_H_mikri_Rallou.flac", lambda d: {"tempo": 74.34}),
    ("jtd_barron_allgodschildren.wav",
     lambda d: _beats_and_tempo(_jtd_beats(d / "jtd_barron_allgodschildren.beats.csv"))),
    ("rwc_p001.wav", lambda d: {"tempo": 60.0 / np.median(np.diff(_rows(d / "rwc_p001.beat.txt") / 100.0))}),
    ("giantsteps_tempo_28952.mp3", lambda d: {"tempo": _jams_tempo(d / "giantsteps_tempo_28952.jams")}),
    ("giantsteps_key_10089.mp3", lambda d: {"key": _first_line(d / "giantsteps_key_10089.txt")}),
    ("beatport_100066.mp3", lambda d: {"key": "D minor"}),
    ("fma_keys_000010.mp3", lambda d: {"key": "F# major"}),
    ("tonality_gloria_D.wav", lambda d: {"key": "D major"}),
    ("essentia_sax-tenor-d-minor.wav", lambda d: {"key": "D minor"}),
    ("essentia_long_voice.flac", lambda d: {"music": False}),
    ("musher_mozart_c_major_30sec.mp3", lambda d: {"key": "C major"}),
    ("musher_EDM_Eb_major_2min.mp3", lambda d: {"key": "Eb major"}),
    ("musher_126bpm.mp3", lambda d: {"tempo": 126.0}),
    *((f"gtzan_{genre}.00000.wav", lambda d, genre=genre: {"key": _lerch_key(d / f"gtzan_{genre}.00000.lerch.txt")})
      for genre in ("blues", "disco", "hiphop", "metal", "pop", "reggae", "rock")),
    ("librosa_brahms_hungarian_dance_5.ogg", lambda d: {"key": "F# minor"}),
    ("rwc_c003.wav", lambda d: {"key": "C minor"}),
    ("orchset_Beethoven-S3-I-ex1.wav", lambda d: {"key": "Eb major"}),
)


def _beats_and_tempo(beats: np.ndarray) -> dict:
    return {"beats": beats, "tempo": 60.0 / float(np.median(np.diff(beats)))}


def recordings(data: Path) -> tuple[list[Case], list[str]]:
    cases, missing = [], []
    for filename, annotate in _RECORDINGS:
        if not (data / filename).exists():
            missing.append(filename)
            continue
        y, sr = _load(data / filename)
        cases.append(Case(filename.rsplit(".", 1)[0], y, sr, **annotate(data)))
    return cases, missing


def non_music(sr: int = 22050, seconds: float = 12.0) -> list[Case]:
    """Silence, white and brown noise, and a babble: phrases of 3-10 syllables, each a vowel of random
    length (60-300 ms) and pitch (formant-filtered glottal pulses), between pauses of 20-250 ms within a
    phrase and 0.2-0.8 s between phrases, as in speech (no steady pulse)."""
    rng = np.random.default_rng(3)
    n = int(sr * seconds)
    white = 0.2 * rng.standard_normal(n)
    brown = np.cumsum(rng.standard_normal(n))
    brown = 0.3 * (brown - np.convolve(brown, np.ones(2048) / 2048, mode="same")) / np.std(brown)
    babble = np.zeros(n)
    at = phrase = 0
    while at < n:
        if phrase == 0:
            at += int(rng.uniform(0.2, 0.8) * sr)
            phrase = int(rng.integers(3, 11))
        phrase -= 1
        length = int(rng.uniform(0.06, 0.3) * sr)
        f0 = rng.uniform(90, 220) * np.linspace(1.0, rng.uniform(0.8, 1.2), length)
        phase = np.cumsum(f0 / sr)
        pulses = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(float)
        vowel = np.zeros(length)
        for formant in (rng.uniform(300, 900), rng.uniform(900, 2500), rng.uniform(2500, 3500)):
            t = np.arange(int(0.02 * sr)) / sr
            vowel += np.convolve(pulses, np.sin(2 * np.pi * formant * t) * np.exp(-t * 300))[:length]
        vowel *= np.hanning(length)
        babble[at : at + length] += vowel[: max(0, n - at)] / (np.abs(vowel).max() + 1e-9)
        at += length + int(rng.uniform(0.02, 0.25) * sr)
    return [Case(name, (0.3 * y).astype(np.float32), sr, music=False) for name, y in
            (("silence", np.zeros(n)), ("white noise", white), ("brown noise", brown), ("babble", babble))]


def rendered(count: int) -> list[Case]:
    return [Case(s.name, s.y, s.sr, tempo=s.tempo, beats=s.beats, key=s.key, chords=s.chords)
            for s in songs.all_songs()[:count]]


def sfa_answer(case: Case) -> Answer:
    result = dsp.analyze(case.y, case.sr)
    return Answer(result["tempo"], np.array(result["beats"]), result["key"], result["key_confidence"],
                  result.get("chords", []))


def librosa_answer(case: Case) -> Answer:
    if not np.any(case.y):
        return Answer(None, np.zeros(0), None)
    tempo, beats = librosa.beat.beat_track(y=case.y, sr=case.sr, units="time")
    profile = librosa.feature.chroma_stft(y=case.y, sr=case.sr).mean(axis=1)
    best, name = -np.inf, None
    for mode, template in _KK.items():
        for tonic in range(12):
            score = np.corrcoef(profile, np.roll(template, tonic))[0, 1]
            if score > best:
                best, name = score, f"{songs.PITCH_CLASSES[tonic]} {mode}"
    return Answer(float(np.atleast_1d(tempo)[0]), beats, name, float(best))


def tempo_verdict(truth: float, estimate: float | None) -> str:
    """"ok", "octave" (within tolerance of twice or half the truth) or "wrong"."""
    if not estimate:
        return "wrong"
    if abs(estimate / truth - 1) <= _TOLERANCE:
        return "ok"
    if any(abs(estimate / (truth * f) - 1) <= _TOLERANCE for f in (2.0, 0.5)):
        return "octave"
    return "wrong"


def _key_label(key: str) -> str:
    tonic, mode = key.split()
    flats = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
    return f"{flats.get(tonic, tonic)} {mode.lower()}"


def key_score(truth: str, estimate: str | None) -> float:
    if estimate is None:
        return 0.0
    return float(mir_eval.key.weighted_score(_key_label(truth), _key_label(estimate)))


def beat_f(truth: np.ndarray, estimate: np.ndarray) -> float:
    return float(mir_eval.beat.f_measure(truth, np.asarray(estimate, dtype=float), f_measure_threshold=0.07))


def chord_share(case: Case, chords: list[dict]) -> float:
    """Share of the case's beats whose chord, as reported halfway through the beat, is the annotated one
    (halfway, so that a beat found a frame late is not charged with the previous beat's chord)."""
    if not chords:
        return 0.0
    times = np.array([c["time"] for c in chords])
    period = float(np.median(np.diff(case.beats)))
    right = 0
    for when, truth in zip(case.beats + period / 2, case.chords, strict=True):
        index = int(np.searchsorted(times, when, side="right")) - 1
        right += index >= 0 and chords[index]["chord"] == truth
    return right / len(case.chords)


def auc(right: list[float], wrong: list[float]) -> float | None:
    if not right or not wrong:
        return None
    pairs = [(r > w) + 0.5 * (r == w) for r in right for w in wrong]
    return float(np.mean(pairs))


@dataclass
class Tally:
    tempo_ok: int = 0
    tempo_octave: int = 0
    tempo_n: int = 0
    beat_f: list[float] = field(default_factory=list)
    key_ok: int = 0
    key_weighted: list[float] = field(default_factory=list)
    right_conf: list[float] = field(default_factory=list)
    wrong_conf: list[float] = field(default_factory=list)
    chords: list[float] = field(default_factory=list)
    null_ok: int = 0
    null_n: int = 0

    def add(self, case: Case, answer: Answer) -> str:
        notes = []
        if not case.music:
            self.null_n += 1
            self.null_ok += answer.tempo is None
            notes.append(f"tempo {_bpm(answer.tempo)}")
        if case.tempo is not None:
            verdict = tempo_verdict(case.tempo, answer.tempo)
            self.tempo_n += 1
            self.tempo_ok += verdict == "ok"
            self.tempo_octave += verdict == "octave"
            notes.append(f"{_bpm(answer.tempo)} {verdict}")
        if case.beats is not None:
            self.beat_f.append(beat_f(case.beats, answer.beats))
            notes.append(f"F {self.beat_f[-1]:.2f}")
        if case.key is not None:
            score = key_score(case.key, answer.key)
            self.key_weighted.append(score)
            self.key_ok += score == 1.0
            (self.right_conf if score == 1.0 else self.wrong_conf).append(answer.confidence)
            notes.append(f"{answer.key or '-'} ({answer.confidence:.2f})")
        if case.chords is not None and answer.chords:
            self.chords.append(chord_share(case, answer.chords))
            notes.append(f"chords {self.chords[-1]:.0%}")
        return ", ".join(notes)

    def merge(self, other: "Tally") -> "Tally":
        merged = Tally()
        for name, value in vars(self).items():
            setattr(merged, name, value + getattr(other, name))
        return merged

    def lines(self) -> list[str]:
        out = []
        if self.tempo_n:
            out.append(f"tempo within 4%: {self.tempo_ok}/{self.tempo_n}, octave errors {self.tempo_octave}")
        if self.beat_f:
            out.append(f"beat F-measure (70 ms): {np.mean(self.beat_f):.3f} over {len(self.beat_f)}")
        if self.key_weighted:
            area = auc(self.right_conf, self.wrong_conf)
            out.append(f"key: {self.key_ok}/{len(self.key_weighted)}, MIREX weighted "
                       f"{np.mean(self.key_weighted):.3f}, confidence AUC "
                       f"{'n/a (no wrong or no right answers)' if area is None else f'{area:.2f}'}")
        if self.chords:
            out.append(f"chords per beat: {np.mean(self.chords):.1%}")
        if self.null_n:
            out.append(f"no tempo on non-music: {self.null_ok}/{self.null_n}")
        return out


def _bpm(value: float | None) -> str:
    return "null" if value is None else f"{value:.1f}"


def run_set(title: str, cases: list[Case]) -> tuple[Tally, Tally]:
    ours, theirs = Tally(), Tally()
    print(f"\n== {title} ({len(cases)})")
    print(f"{'':34} {'sfa.dsp':44} librosa")
    for case in cases:
        print(f"{case.name[:34]:34} {ours.add(case, sfa_answer(case)):44} {theirs.add(case, librosa_answer(case))}")
    print("  sfa.dsp:  " + "\n            ".join(ours.lines()))
    print("  librosa:  " + "\n            ".join(theirs.lines()))
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--songs", type=int, default=24, help="how many of the 24 rendered songs")
    args = parser.parse_args()
    cases, missing = recordings(args.data)
    if missing:
        print(f"{len(missing)} annotated recordings absent from {args.data}: {', '.join(missing)}")
    ours, theirs = run_set("annotated recordings", cases) if cases else (Tally(), Tally())
    songs_ours, songs_theirs = run_set("rendered songs", rendered(args.songs))
    total, their_total = ours.merge(songs_ours), theirs.merge(songs_theirs)
    run_set("non-music", non_music())
    print("\n== every annotated file (recordings and songs)")
    print("  sfa.dsp:  " + "\n            ".join(total.lines()))
    print("  librosa:  " + "\n            ".join(their_total.lines()))
    print(f"\ntempo {total.tempo_ok}/{total.tempo_n}, key {total.key_ok}/{len(total.key_weighted)}, "
          f"beat F {np.mean(total.beat_f):.3f}")


if __name__ == "__main__":
    main()
