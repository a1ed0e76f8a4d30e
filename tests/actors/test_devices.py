"""GPU discovery for the GPU worker pool, through ``nvidia-smi -L``.

This machine has no NVIDIA driver, so the tool is a stand-in on ``PATH`` printing the real tool's listing;
``bench/gpu_check.sh`` shows the answer on a real GPU machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sfa.actors.devices import gpu_devices

LISTING = """\
GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0b3a4c1e-7f7d-4d9c-9a55-0d1f6e2b9c11)
GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-5c2d8e9f-1a2b-4c3d-8e9f-a1b2c3d4e5f6)
"""


@pytest.fixture
def nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put an ``nvidia-smi`` on ``PATH`` that prints ``listing`` and exits with ``status``."""

    def install(listing: str = LISTING, status: int = 0) -> None:
        tool = tmp_path / "nvidia-smi"
        tool.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write({listing!r})\nsys.exit({status})\n")
        tool.chmod(0o755)
        monkeypatch.setenv("PATH", str(tmp_path))

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return install


def test_one_worker_device_per_listed_gpu(nvidia_smi):
    nvidia_smi()
    assert gpu_devices() == ["cuda:0", "cuda:1"]


@pytest.mark.parametrize(
    ("visible", "devices"),
    [("1", ["cuda:0"]), ("1,0", ["cuda:0", "cuda:1"]), ("0,7,1", ["cuda:0"]), ("", ["cpu"]), ("-1", ["cpu"]),
     ("GPU-5c2d8e9f-1a2b-4c3d-8e9f-a1b2c3d4e5f6", ["cuda:0"])],
)
def test_cuda_visible_devices_is_honoured_as_cuda_reads_it(nvidia_smi, monkeypatch, visible, devices):
    nvidia_smi()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert gpu_devices() == devices


def test_a_driver_that_answers_with_an_error_means_the_cpu(nvidia_smi):
    nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", status=9)
    assert gpu_devices() == ["cpu"]


def test_no_driver_tool_means_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert gpu_devices() == ["cpu"]

