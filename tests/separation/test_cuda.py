"""On a CUDA machine: the engine keeps its models on the GPU, runs its chunks there, and gives the CPU's answer.

Both sides compute in full float32 (TF32 off for these tests), so outputs agree to 1e-4 as on the CPU. Every
test skips where torch sees no CUDA device; ``bench/gpu_check.sh`` runs them on the device machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from sfa.separation.chunking import GUARD
from sfa.separation.engine import Engine, Settings
from tests.separation.nets import RATE, bag, hdemucs, htdemucs

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device")

SETTINGS = Settings(segment_s=1.0, overlap=0.25)
WHOLE = Settings(segment_s=1.0, overlap=0.25, weighting=GUARD)  # a track within one segment is one plain call


@pytest.fixture
def gpu_engine(tmp_path: Path) -> Iterator[Engine]:
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield Engine("cuda", hub=tmp_path / "hub", budget_bytes=1 << 32, max_batch=4)
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.parametrize("build", [hdemucs, htdemucs], ids=["HDemucs", "HTDemucs"])
def test_a_model_kept_on_the_gpu_gives_the_whole_track_call_of_the_cpu(gpu_engine, build):
    network = build()
    mix = torch.randn(2, RATE)
    with torch.inference_mode():
        whole = network(mix[None])[0]

    model = gpu_engine.cache.put(bag(network))
    out = gpu_engine.separate(model, mix, WHOLE, job=1)

    assert gpu_engine.device.type == "cuda"
    assert all(parameter.is_cuda for parameter in network.parameters())
    assert torch.allclose(out, whole, atol=1e-4)


def test_a_long_track_batched_on_the_gpu_equals_the_cpu_engine(gpu_engine, tmp_path):
    network = hdemucs()
    mix = torch.randn(2, RATE * 6 + 123)
    on_cpu = Engine("cpu", hub=tmp_path / "hub", budget_bytes=1 << 30, max_batch=4).separate(
        bag(network), mix, SETTINGS, job=1
    )

    on_gpu = gpu_engine.separate(gpu_engine.cache.put(bag(network)), mix, SETTINGS, job=2)

    assert on_gpu.shape == on_cpu.shape == (4, 2, mix.shape[-1])
    assert torch.allclose(on_gpu, on_cpu, atol=1e-4)
