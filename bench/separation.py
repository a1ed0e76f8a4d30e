"""Separation against what users run: demucs' own chunked inference, side by side with the GpuWorker's path.

``--against demucs`` (the default): the same model, track and device through ``demucs.apply.apply_model``
(``shifts=0, split=True``, the segment and overlap given, inside ``demucs.api.Separator``'s whole-track
normalisation) and through the worker's path (``sfa.separation``: chunks, batches, overlap-add with demucs
weighting, stems streamed to WAV files as chunks finish), in turns, each run in a fresh process. Prints each
run's wall time, peak resident size (VmHWM, reset once the model and the track are loaded, so it is what
the separation itself adds; the process' whole peak in brackets) and, on CUDA, peak GPU memory; then the
largest difference between the outputs. Last line: ``vs demucs: speed Xx, memory Yx less, max diff Z``
(X = demucs' best time / ours, Y = demucs' peak / ours). Targets: on the CPU 1.2x and half the memory at
equal output (max diff <= 1e-4); on a GPU 1.5x with ``--jobs 4`` (several jobs batched: demucs separates
them one after another, the worker runs them at once and batches their chunks).

``--against whole``: one whole-track call of torchaudio's HDemucs (which takes any length) against the
worker's path in both weightings; prints each one's SDR against the whole-track call (what ``guard``
buys), and the worker's chunks one at a time (what batching alone buys).

``--same-allocator`` gives demucs' process the settings the worker's makes (``sfa.separation.engine.tune_process``:
the allocator, huge pages, the attention kernel), so what remains of the difference is the path's own; the
worker's memory plan for its CPU forwards (``sfa.separation.arena``) is part of its path. The plan's library
is built once per machine and torch version (a few seconds, cached), when the engine starts, before the
clock; each job's first chunk records the plan inside the timed run. Each run's CPU time (user, system) is
printed beside its wall time: on a shared host it says where time went.

The model is the registry's ``--model`` when its weights are in the torch hub cache (``TORCH_HOME``), else
its architecture at full size with random weights (HTDemucs in the published ``htdemucs`` configuration,
torchaudio's ``hdemucs_high``): the same arithmetic, meaningless stems. On a GPU everything runs in full
float32 (TF32 off), so differences are the chunking's alone.
Run: .venv/bin/python -m bench.separation [--against demucs|whole] [--seconds 180] [--device cuda] [--jobs 4]
     [--model htdemucs] [--turns 2] [--same-allocator]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import soundfile
import torch

from sfa.separation import HUGE_PAGES
from sfa.separation.chunking import DEMUCS, GUARD
from sfa.separation.engine import Engine, Settings, tune_process
from sfa.separation.models import Bag, load
from sfa.separation.pipeline import Track, separate_track, write_stems
from sfa.separation.registry import MODELS, TORCHAUDIO, hub_dir, missing_files

RATE = 44100


def model(name: str) -> tuple[Bag, str]:
    spec = MODELS[name]
    if not missing_files(spec, hub_dir()):
        return load(spec, hub_dir()), f"{name} (pretrained weights)"
    torch.manual_seed(0)
    if spec.family == TORCHAUDIO:
        from torchaudio.models import hdemucs_high

        network = hdemucs_high(sources=list(spec.stems))
        network.samplerate, network.sources = RATE, list(spec.stems)
        described = "torchaudio hdemucs_high"
    else:
        from demucs.htdemucs import HTDemucs

        network = HTDemucs(list(spec.stems), channels=48, depth=4, nfft=4096, t_layers=5, bottom_channels=512,
                           dconv_mode=3, samplerate=RATE, segment=Fraction(39, 5))
        described = "HTDemucs in htdemucs' configuration"
    return Bag.of(name, [network], sample_rate=RATE, stems=spec.stems), \
        f"{described} with random weights ({name}'s weights are not in {hub_dir()})"


def tracks(seconds: float, jobs: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(2, int(seconds * RATE), generator=generator) * 0.1 for _ in range(jobs)]


def demucs_separate(network: torch.nn.Module, wav: torch.Tensor, settings: Settings, device: str) -> torch.Tensor:
    """``demucs.api.Separator.separate_tensor`` with ``shifts=0``."""
    from demucs.apply import apply_model

    reference = wav.mean(0)
    mean, std = reference.mean(), reference.std() + 1e-8
    out = apply_model(network, ((wav - mean) / std)[None], shifts=0, split=True, overlap=settings.overlap,
                      segment=settings.segment_s, device=device)
    return out[0] * std + mean


def _status(field: str) -> int:
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith(field))


def run_side(args: argparse.Namespace) -> None:
    """One side in this (fresh) process: outputs to ``args.out``, measurements as JSON on stdout."""
    if args.side == "worker" or args.same_allocator:
        tune_process()  # as the GPU worker process does, before its first tensor
    bag, described = model(args.model)
    mixes = tracks(args.seconds, args.jobs)
    settings = Settings(args.segment, args.overlap, DEMUCS)
    out = Path(args.out)
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    if args.side == "worker":
        engine = Engine(args.device, hub=hub_dir(), budget_bytes=1 << 36, max_batch=args.batch if cuda else 1)
        engine.cache.put(bag)
    else:
        bag.networks[0].to(args.device)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS: the peak from here on
    base = _status("VmRSS:")
    cpu = os.times()
    started = time.perf_counter()
    if args.side == "worker":
        def job(number: int) -> None:
            spans = separate_track(engine, bag, Track(mixes[number], RATE), settings, job=number)
            write_stems(spans, bag.stems, RATE, 2, out, f"job{number}", subtype="FLOAT")

        threads = [threading.Thread(target=job, args=(number,)) for number in range(args.jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        results = [demucs_separate(bag.networks[0], mix, settings, args.device) for mix in mixes]
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    used = os.times()
    measured = {"seconds": elapsed, "user": used.user - cpu.user, "system": used.system - cpu.system,
                "peak": _status("VmHWM:") - base, "whole": _status("VmHWM:"),
                "gpu": torch.cuda.max_memory_allocated() if cuda else None, "model": described,
                "threads": torch.get_num_threads()}
    if args.side == "demucs":
        for number, result in enumerate(results):
            torch.save(result, out / f"demucs{number}.pt")
    print(json.dumps(measured))


def side_by_side(args: argparse.Namespace) -> None:
    forwarded = ["--model", args.model, "--seconds", str(args.seconds), "--device", args.device, "--segment",
                 str(args.segment), "--overlap", str(args.overlap), "--batch", str(args.batch), "--jobs",
                 str(args.jobs), *(["--same-allocator"] if args.same_allocator else [])]
    runs: dict[str, list[dict]] = {"demucs": [], "worker": []}
    with tempfile.TemporaryDirectory(prefix="bench-separation-") as scratch:
        for turn in range(args.turns):
            for side in ("demucs", "worker"):
                out = Path(scratch) / f"{side}{turn}"
                out.mkdir()
                # Huge pages for large blocks come with importing sfa.separation (the worker's setting):
                # demucs' side runs as its users run it, unless given the worker's settings.
                env = os.environ | ({} if side == "worker" or args.same_allocator else {HUGE_PAGES: "0"})
                done = subprocess.run([sys.executable, "-m", "bench.separation", "--side", side, "--out", str(out),
                                       *forwarded], capture_output=True, text=True, check=True, env=env)
                runs[side].append(json.loads(done.stdout.splitlines()[-1]))
                run = runs[side][-1]
                gpu = f"  GPU peak {run['gpu'] / 2**20:7.0f} MiB" if run["gpu"] else ""
                print(f"turn {turn + 1} {side:>6}: {run['seconds']:8.2f} s (CPU {run['user']:7.1f} s user, "
                      f"{run['system']:6.1f} s system)  peak {run['peak'] / 2**20:7.0f} MiB (process "
                      f"{run['whole'] / 2**20:6.0f}){gpu}", flush=True)
        difference, scale = 0.0, 0.0
        for number in range(args.jobs):
            expected = torch.load(Path(scratch) / f"demucs0/demucs{number}.pt")
            for index, name in enumerate(MODELS[args.model].stems):
                ours = torch.from_numpy(soundfile.read(Path(scratch) / f"worker0/job{number}/{name}.wav",
                                                       dtype="float32")[0].T.copy())
                difference = max(difference, (ours - expected[index]).abs().max().item())
                scale = max(scale, expected[index].abs().max().item())
    first = runs["demucs"][0]
    print(f"model: {first['model']}; device: {args.device}; {args.jobs} x {args.seconds:.0f} s stereo at {RATE} Hz; "
          f"segment {args.segment} s, overlap {args.overlap}; torch {torch.__version__}, {first['threads']} threads")
    print(f"largest difference {difference:.2e} (peak |demucs| {scale:.2e})")
    best = {side: min(run["seconds"] for run in measured) for side, measured in runs.items()}
    key = "gpu" if first["gpu"] else "peak"
    peak = {side: min(run[key] for run in measured) for side, measured in runs.items()}
    print(f"vs demucs: speed {best['demucs'] / best['worker']:.2f}x, memory {peak['demucs'] / peak['worker']:.2f}x "
          f"less, max diff {difference:.1e}")


def sdr(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    return (10 * torch.log10(reference.pow(2).sum() / (estimate - reference).pow(2).sum())).item()


def against_whole(args: argparse.Namespace) -> None:
    """The whole-track call against the worker's path in both weightings (needs a model taking any length)."""
    bag, described = model(args.model if MODELS[args.model].family == TORCHAUDIO else "hdemucs_high_musdb_plus")
    track = Track(tracks(args.seconds, 1)[0], RATE)
    engine = Engine(args.device, hub=hub_dir(), budget_bytes=1 << 36, max_batch=args.batch)
    engine.cache.put(bag)
    print(f"model: {described}; device: {engine.device}; track: {args.seconds:.0f} s stereo at {RATE} Hz")
    started = time.perf_counter()
    mix = track.audio.to(engine.device)
    reference = mix.mean(0)
    mean, std = reference.mean(), reference.std() + 1e-8
    with torch.inference_mode():
        whole = (bag.networks[0]((mix - mean)[None] / std)[0] * std + mean).cpu()
    print(f"whole-track call:       {time.perf_counter() - started:8.2f} s")
    for weighting in (DEMUCS, GUARD):
        for batch in sorted({args.batch, 1}, reverse=True):
            engine.runner.max_batch = batch
            started = time.perf_counter()
            chunked = torch.cat(list(separate_track(engine, bag, track, Settings(args.segment, args.overlap,
                                                                                weighting), job=1)), -1)
            print(f"{weighting:>6}, batches of {batch}: {time.perf_counter() - started:8.2f} s  SDR against the "
                  f"whole-track call {sdr(chunked, whole):6.2f} dB  max diff {(chunked - whole).abs().max():.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", choices=("demucs", "whole"), default="demucs")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", default="htdemucs", choices=sorted(MODELS))
    parser.add_argument("--segment", type=float, default=7.8)
    parser.add_argument("--overlap", type=float, default=0.25)
    parser.add_argument("--batch", type=int, default=4, help="chunks per batch on a GPU (the CPU takes one)")
    parser.add_argument("--jobs", type=int, default=1, help="tracks separated (demucs: in turn; worker: at once)")
    parser.add_argument("--turns", type=int, default=2, help="runs of each side, alternating; the best counts")
    parser.add_argument("--same-allocator", action="store_true",
                        help="give demucs' process the worker's allocator setting too (what is left is the path's)")
    parser.add_argument("--side", choices=("demucs", "worker"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run_side(args)
    elif args.against == "demucs":
        side_by_side(args)
    else:
        against_whole(args)


if __name__ == "__main__":
    main()
