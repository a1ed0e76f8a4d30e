"""``run.py models --check`` on a torch hub cache seeded the way an operator places weights: random-weight
HTDemucs checkpoints named, as demucs names its own, after the start of their SHA-256; one of them then
corrupted. The intact one passes its hash and a smoke separation; the corrupted one fails, named; the rest
are listed missing."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil

from sfa import cli
from sfa.separation.registry import MODELS
from tests.separation.nets import htdemucs, seed_checkpoint


def seed_named_by_hash(hub, name, network):
    """Seed ``network`` for model ``name`` under ``checkpoints/<sig>-<sha256[:8]>.th``, as the registry
    would name a published checkpoint."""
    path = seed_checkpoint(hub, "checkpoints/seeded.th", network)
    named = path.with_name(f"{name[:8]:0<8}-{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}.th")
    path.rename(named)
    return dataclasses.replace(MODELS[name], files=(f"checkpoints/{named.name}",)), named


def test_models_check_verifies_hashes_and_separates_with_each_model_present(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    hub = tmp_path / "hub"
    good, _ = seed_named_by_hash(hub, "htdemucs", htdemucs())
    corrupted, path = seed_named_by_hash(hub, "htdemucs_6s", htdemucs(MODELS["htdemucs_6s"].stems))
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))
    monkeypatch.setitem(MODELS, "htdemucs", good)
    monkeypatch.setitem(MODELS, "htdemucs_6s", corrupted)

    code = cli.main(["models", "--check"])

    out = capsys.readouterr()
    assert code == 1 and "1 model(s) failed the check: htdemucs_6s" in out.err
    lines = out.out.splitlines()
    assert lines[0] == f"hub: {hub} (TORCH_HOME/hub)"
    built = shutil.which(os.environ.get("CXX", "c++")) is not None
    assert lines[1].startswith("cpu kernels: fused DConv and memory plan built (kept in " if built
                               else "cpu kernels: UNAVAILABLE")
    first = lines.index("htdemucs: ok")
    assert lines[first + 1].startswith(f"  {good.files[0]}: ") and lines[first + 1].endswith(" ok")
    assert lines[first + 2].startswith("  smoke separation: ok, 5 s separated in ")
    broken = lines.index("htdemucs_6s: FAILED")
    assert "MISMATCH" in lines[broken + 1] and not lines[broken + 2].startswith("  smoke")
    assert "mdx_extra: missing" in lines and "hdemucs_high_musdb: missing" in lines


def test_models_check_says_when_the_cpu_kernels_cannot_be_built(tmp_path, monkeypatch, capsys):
    """No C++ compiler and nothing cached: the check says so and what it costs; absent models are no failure."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))

    code = cli.main(["models", "--check"])

    kernels = capsys.readouterr().out.splitlines()[1]
    assert code == 0
    assert kernels.startswith("cpu kernels: UNAVAILABLE, the CPU separates at about 0.7x demucs' speed (")
    assert "fused DConv: no C++ compiler" in kernels and "memory plan: no C++ compiler" in kernels
