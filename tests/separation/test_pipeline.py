"""A track file through a model to stem files: mono, other rates and odd lengths come back with the
input's length, rate and channels; and the registry names the contract's models and their weight files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from sfa.separation.engine import Settings
from sfa.separation.models import load
from sfa.separation.pipeline import UnreadableAudio, read, separate_track, write_stems
from sfa.separation.registry import MODELS, MissingWeights, hub_dir, missing_files
from tests.separation.nets import bag, htdemucs, seed_checkpoint


@pytest.mark.parametrize(("rate", "channels", "samples"), [(8000, 2, 20_001), (22050, 1, 30_011), (44100, 2, 7)])
def test_stems_on_disk_have_the_inputs_length_rate_and_channels(engine, tmp_path, rate, channels, samples):
    source = tmp_path / "song.flac"
    soundfile.write(source, np.random.default_rng(1).uniform(-0.5, 0.5, (samples, channels)), rate)
    track = read(source)
    model = bag(htdemucs())

    spans = separate_track(engine, model, track, Settings(segment_s=1.0, overlap=0.25), job=1)
    written = write_stems(spans, model.stems, track.sample_rate, track.channels, tmp_path, "tracks/1/stems/9")

    assert [stem["name"] for stem in written] == ["drums", "bass", "other", "vocals"]
    for stem in written:
        info = soundfile.info(tmp_path / stem["path"])
        assert (info.frames, info.samplerate, info.channels) == (samples, rate, channels)
        assert stem["file_size"] == (tmp_path / stem["path"]).stat().st_size


def test_a_file_that_is_not_audio_is_unreadable(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"RIFF nonsense")

    with pytest.raises(UnreadableAudio, match=r"cannot decode x\.wav"):
        read(tmp_path / "x.wav")


def test_the_registry_names_the_contracts_models_and_what_torchaudio_ships():
    assert {"htdemucs", "htdemucs_ft", "htdemucs_6s", "mdx_extra"} <= set(MODELS)
    assert {"hdemucs_high_musdb_plus", "hdemucs_high_musdb"} <= set(MODELS)
    assert MODELS["htdemucs_6s"].stems == ("drums", "bass", "other", "vocals", "guitar", "piano")
    assert len(MODELS["htdemucs_ft"].files) == 4 and len(MODELS["mdx_extra"].files) == 4


def test_the_hub_dir_follows_torch_home():
    assert hub_dir({"TORCH_HOME": "/weights"}).as_posix() == "/weights/hub"
    assert hub_dir({"XDG_CACHE_HOME": "/cache"}).as_posix() == "/cache/torch/hub"


def test_missing_weights_name_the_file_to_place(tmp_path):
    with pytest.raises(MissingWeights) as caught:
        load(MODELS["htdemucs_6s"], tmp_path)

    assert "place checkpoints/5c90dfd2-34c22ccb.th in the torch hub cache" in str(caught.value)
    assert "TORCH_HOME" in str(caught.value) and str(tmp_path) not in str(caught.value)
    assert caught.value.hub == tmp_path and caught.value.missing == ["checkpoints/5c90dfd2-34c22ccb.th"]


def test_a_seeded_checkpoint_loads_as_the_model_it_was(tmp_path):
    network = htdemucs()
    seed_checkpoint(tmp_path, MODELS["htdemucs"].files[0], network)
    mix = torch.randn(1, 2, 4000)

    loaded = load(MODELS["htdemucs"], tmp_path)

    assert missing_files(MODELS["htdemucs"], tmp_path) == []
    assert loaded.sample_rate == 8000 and loaded.max_segment == 8000
    with torch.inference_mode():
        assert torch.allclose(loaded(mix), network.eval()(mix), atol=1e-5)
