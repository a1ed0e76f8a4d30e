"""A 3-minute stereo track through a plain whole-track torchaudio call, then through the GpuWorker's path
(``sfa.separation``: level normalisation, chunks, batches, overlap-add), on the same model and device.
Prints the speed ratio, peak memory, real-time factors and the largest difference between the two outputs;
then the same chunks run one at a time (batches of one), which shows what batching alone buys, at equal output.
Target: >= 1.5x the plain call on a GPU.

The model is the registry's ``--model`` when its weights are in the torch hub cache (``TORCH_HOME``), else
torchaudio's ``hdemucs_high`` (the HDEMUCS_HIGH_* bundles' architecture, full size) with random weights:
the same arithmetic, meaningless stems. HDemucs normalises each call's input by its own statistics, so
chunked output only approximates one whole-track call; the printed difference says by how much. On a GPU
both paths run in full float32 (TF32 off), so that difference is the chunking's alone.
Run: .venv/bin/python -m bench.separation [--seconds 180] [--device cuda] [--model hdemucs_high_musdb_plus]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil
import torch

from sfa.separation.engine import Engine, Settings
from sfa.separation.models import Bag, load
from sfa.separation.pipeline import Track, separate_track
from sfa.separation.registry import FOUR_STEMS, MODELS, hub_dir, missing_files

RATE = 44100


def model(name: str) -> tuple[Bag, str]:
    spec = MODELS[name]
    if not missing_files(spec, hub_dir()):
        return load(spec, hub_dir()), f"{name} (pretrained weights)"
    from torchaudio.models import hdemucs_high

    torch.manual_seed(0)
    network = hdemucs_high(sources=list(FOUR_STEMS))
    return Bag.of("hdemucs_high_random", [network], sample_rate=RATE, stems=FOUR_STEMS), \
        f"torchaudio hdemucs_high with random weights ({name}'s weights are not in {hub_dir()})"


class PeakMemory:
    """Peak device memory on CUDA; on the CPU, the peak resident size above the start, sampled every 5 ms."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def measure(self, run: Callable[[], Any]) -> tuple[Any, float, int]:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            started = time.perf_counter()
            result = run()
            torch.cuda.synchronize()
            return result, time.perf_counter() - started, torch.cuda.max_memory_allocated()
        process, peak, done = psutil.Process(), [0], threading.Event()
        base = process.memory_info().rss

        def sample() -> None:
            while not done.wait(0.005):
                peak[0] = max(peak[0], process.memory_info().rss - base)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        return result, elapsed, peak[0]


def plain_call(bag: Bag, track: Track, device: torch.device) -> torch.Tensor:
    """What a torchaudio user writes: normalise, one call on the whole track, denormalise."""
    mix = track.audio.to(device)
    reference = mix.mean(0)
    mean, std = reference.mean(), reference.std()
    with torch.inference_mode():
        return (bag.networks[0]((mix - mean)[None] / std)[0] * std + mean).cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", default="hdemucs_high_musdb_plus", choices=sorted(MODELS))
    parser.add_argument("--segment", type=float, default=7.8)
    parser.add_argument("--overlap", type=float, default=0.25)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()

    bag, described = model(args.model)
    torch.manual_seed(1)
    track = Track(torch.randn(2, int(args.seconds * RATE)) * 0.1, RATE)
    engine = Engine(args.device, hub=hub_dir(), budget_bytes=1 << 34, max_batch=args.batch)
    engine.cache.put(bag)
    memory = PeakMemory(engine.device)
    device = str(engine.device)
    if engine.device.type == "cuda":
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        device = f"{torch.cuda.get_device_name(engine.device)}, float32 with TF32 off"
    print(f"model: {described}; device: {device}; track: {args.seconds:.0f} s stereo at {RATE} Hz; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    settings = Settings(args.segment, args.overlap)
    warm_up = Track(torch.randn(2, int(args.segment * RATE)) * 0.1, RATE)
    separate_track(engine, bag, warm_up, settings, job=0)
    plain_call(bag, warm_up, engine.device)
    warm_batches = engine.runner.stats.batches
    chunked, chunked_s, chunked_peak = memory.measure(lambda: separate_track(engine, bag, track, settings, job=1))
    batches = engine.runner.stats.batches - warm_batches
    plain, plain_s, plain_peak = memory.measure(lambda: plain_call(bag, track, engine.device))
    single = Engine(args.device, hub=hub_dir(), budget_bytes=1 << 34, max_batch=1)
    single.cache.put(bag)
    separate_track(single, bag, warm_up, settings, job=0)
    one_by_one, one_by_one_s, one_by_one_peak = memory.measure(
        lambda: separate_track(single, bag, track, settings, job=1)
    )

    difference = (chunked - plain).abs().max().item()
    print(f"plain whole-track call: {plain_s:8.2f} s  peak {plain_peak / 2**20:8.0f} MiB  "
          f"real-time factor {args.seconds / plain_s:6.2f}x")
    print(f"GpuWorker path:         {chunked_s:8.2f} s  peak {chunked_peak / 2**20:8.0f} MiB  "
          f"real-time factor {args.seconds / chunked_s:6.2f}x  ({batches} batches of "
          f"<= {args.batch} chunks of {args.segment} s)")
    print(f"same chunks one by one: {one_by_one_s:8.2f} s  peak {one_by_one_peak / 2**20:8.0f} MiB  "
          f"real-time factor {args.seconds / one_by_one_s:6.2f}x")
    print(f"speed ratio: {plain_s / chunked_s:.2f}x (target >= 1.5x on a GPU); largest difference "
          f"{difference:.2e} (peak |plain| {plain.abs().max().item():.2e})")
    print(f"batching: {one_by_one_s / chunked_s:.2f}x the chunks one by one; largest difference "
          f"{(chunked - one_by_one).abs().max().item():.2e}")


if __name__ == "__main__":
    main()
