"""Long tracks in bounded memory: an hour of stereo separates in a fresh process whose peak resident size
(VmHWM: interpreter, torch and the decoded track included) stays under 3 GB, because stems go to their
files as chunks finish; progress only grows; a cancelled job stops within a chunk and leaves no file.

The hour runs through a two-convolution network (``LocalNet``): what is bounded here is the pipeline's
memory (decoded track, chunks, spans, writers), which does not depend on the network, and a real
architecture would take the test's two shared cores most of an hour. ``bench.separation --against demucs``
measures the model's own working set on full-size HTDemucs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from sfa.separation.engine import Cancelled, Settings
from sfa.separation.pipeline import read, separate_track, write_stems
from tests.separation.nets import LocalNet, bag

RATE = 44100
ROOT = Path(__file__).parents[2]

HOUR_PROBE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from sfa.separation.engine import Engine, Settings, return_freed_memory
    from sfa.separation.pipeline import read, separate_track, write_stems
    from tests.separation.nets import LocalNet, bag

    data = Path(sys.argv[1])
    return_freed_memory()  # as the GPU worker process does
    engine = Engine("cpu", hub=data / "hub", budget_bytes=1 << 30, max_batch=1)
    model = engine.cache.put(bag(LocalNet(44100)))
    started, steps = time.perf_counter(), []
    track = read(data / "hour.wav")
    spans = separate_track(engine, model, track, Settings(30.0, 0.25), job=1,
                           progress=lambda done, total: steps.append((done, total)))
    written = write_stems(spans, model.stems, track.sample_rate, track.channels, data, "stems")
    # VmHWM is this program's own peak; ru_maxrss also keeps the forked parent's pages from before exec.
    peak = [int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
    print(json.dumps({"peak": peak, "seconds": time.perf_counter() - started, "steps": steps,
                      "written": written}))
    """
)


@pytest.mark.timeout(1500)  # slow but bounded: a few minutes on two shared cores
def test_an_hour_long_track_separates_in_under_three_gigabytes(tmp_path):
    block = np.random.default_rng(2).uniform(-0.5, 0.5, (60 * RATE, 2)).astype(np.float32)
    with soundfile.SoundFile(tmp_path / "hour.wav", "w", RATE, 2, "PCM_16") as sink:
        for minute in range(60):
            sink.write(np.roll(block, minute * 1001, axis=0))

    probe = subprocess.run([sys.executable, "-c", HOUR_PROBE, str(tmp_path)], capture_output=True, text=True,
                           check=True, cwd=ROOT, timeout=1200)

    report = json.loads(probe.stdout)
    print(f"an hour separated in {report['seconds']:.0f} s, peak RSS {report['peak'] / 2**30:.2f} GiB")
    assert report["peak"] < 3_000_000_000, report["peak"]
    steps = report["steps"]
    assert len(steps) > 150 and steps == [[done, len(steps)] for done in range(1, len(steps) + 1)]
    for stem in report["written"]:
        info = soundfile.info(tmp_path / stem["path"])
        assert (info.frames, info.samplerate, info.channels) == (3600 * RATE, RATE, 2)


def test_a_cancelled_track_stops_within_a_chunk_and_leaves_no_stem_file(engine, tmp_path):
    soundfile.write(tmp_path / "song.wav", np.random.default_rng(3).uniform(-0.5, 0.5, (30 * RATE, 2)), RATE)
    track = read(tmp_path / "song.wav")
    calls, steps = [], []
    network = LocalNet(RATE)
    network.register_forward_hook(lambda *_: calls.append(1))

    spans = separate_track(engine, bag(network), track, Settings(2.0, 0.25), job=1,
                           progress=lambda done, total: steps.append(done), cancelled=lambda: len(steps) >= 3)
    with pytest.raises(Cancelled, match="cancelled after 3 of"):
        write_stems(spans, ("drums", "bass", "other", "vocals"), RATE, 2, tmp_path, "stems")

    assert steps == [1, 2, 3]
    assert len(calls) <= 3 + engine.runner.max_batch  # the chunks submitted ahead, no more
    assert not (tmp_path / "stems").exists()
    assert not any((tmp_path / "tmp").iterdir())


def test_stems_written_span_by_span_equal_the_joined_output(engine, tmp_path):
    soundfile.write(tmp_path / "song.wav", np.random.default_rng(4).uniform(-0.5, 0.5, (20 * RATE, 2)), RATE,
                    subtype="FLOAT")
    track = read(tmp_path / "song.wav")
    model = bag(LocalNet(RATE))
    joined = torch.cat(list(separate_track(engine, model, track, Settings(3.0, 0.25), job=1)), -1)

    written = write_stems(separate_track(engine, model, track, Settings(3.0, 0.25), job=2), model.stems, RATE, 2,
                          tmp_path, "stems", subtype="FLOAT")

    for stem, expected in zip(written, joined, strict=True):
        assert np.array_equal(soundfile.read(tmp_path / stem["path"], dtype="float32")[0], expected.T.numpy())
