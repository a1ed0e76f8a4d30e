"""Long tracks: stems go to their files span by span as chunks finish (equal to the joined output), and a
cancelled job stops within a chunk and leaves no file. The hour's peak memory is ``bench.long_track``'s."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from sfa.separation.engine import Cancelled, Settings
from sfa.separation.pipeline import read, separate_track, write_stems
from tests.separation.nets import LocalNet, bag

RATE = 44100

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

    # Equal up to rounding: which chunks share a batch depends on timing, and a batch's size moves the
    # convolutions' last bits.
    for stem, expected in zip(written, joined, strict=True):
        np.testing.assert_allclose(soundfile.read(tmp_path / stem["path"], dtype="float32")[0], expected.T.numpy(),
                                   rtol=0, atol=1e-6)
