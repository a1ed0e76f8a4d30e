"""Peak memory separating an hour of stereo 44.1 kHz on the CPU. Target: peak RSS under 3 GB.

The hour goes through the worker's pipeline (decode, chunks, spans, stems written as they finish) in a
fresh process whose peak resident size (VmHWM: interpreter, torch and the decoded track included) is
read at the end. The network is a two-convolution one (``tests.separation.nets.LocalNet``): what is
bounded is the pipeline's memory, which does not depend on the network, and a real architecture would
take two cores most of an hour (``bench.separation --against demucs`` measures the model's own working
set on full-size HTDemucs). Progress must only grow. Run: .venv/bin/python -m bench.long_track [MINUTES]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import soundfile

RATE = 44100
TARGET_BYTES = 3_000_000_000
ROOT = Path(__file__).resolve().parents[1]

PROBE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from sfa.separation.engine import Engine, Settings, tune_process
    from sfa.separation.pipeline import read, separate_track, write_stems
    from tests.separation.nets import LocalNet, bag

    data = Path(sys.argv[1])
    tune_process()  # as the GPU worker process does
    engine = Engine("cpu", hub=data / "hub", budget_bytes=1 << 30, max_batch=1)
    model = engine.cache.put(bag(LocalNet(44100)))
    started, steps = time.perf_counter(), []
    track = read(data / "long.wav")
    spans = separate_track(engine, model, track, Settings(30.0, 0.25), job=1,
                           progress=lambda done, total: steps.append((done, total)))
    written = write_stems(spans, model.stems, track.sample_rate, track.channels, data, "stems")
    # VmHWM is this program's own peak; ru_maxrss also keeps the forked parent's pages from before exec.
    peak = [int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
    print(json.dumps({"peak": peak, "seconds": time.perf_counter() - started, "steps": steps,
                      "written": written}))
    """
)


def main() -> None:
    minutes = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        block = np.random.default_rng(2).uniform(-0.5, 0.5, (60 * RATE, 2)).astype(np.float32)
        with soundfile.SoundFile(data / "long.wav", "w", RATE, 2, "PCM_16") as sink:
            for minute in range(minutes):
                sink.write(np.roll(block, minute * 1001, axis=0))
        probe = subprocess.run([sys.executable, "-c", PROBE, str(data)], capture_output=True, text=True,
                               check=True, cwd=ROOT)
        report = json.loads(probe.stdout)
        steps = report["steps"]
        monotonic = steps == [[done, len(steps)] for done in range(1, len(steps) + 1)]
        complete = all(soundfile.info(data / stem["path"]).frames == minutes * 60 * RATE
                       for stem in report["written"])
    print(f"{minutes} min stereo 44.1 kHz separated in {report['seconds']:.0f} s, {len(steps)} chunks; "
          f"progress monotonic: {monotonic}; stems complete: {complete}")
    print(f"peak RSS {report['peak'] / 2**30:.2f} GiB, target < {TARGET_BYTES / 1e9:g} GB: "
          f"{'met' if report['peak'] < TARGET_BYTES else 'MISSED'}")


if __name__ == "__main__":
    main()
