"""The fused DConv kernel: the same output as demucs' and torchaudio's own layers, in every layout and length
the networks give it, whatever the thread count; the same parameters; demucs' layers where it does not apply."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys

import pytest
import torch
from demucs.demucs import DConv
from torchaudio.models import HDemucs
from torchaudio.models._hdemucs import _DConv

from sfa.separation import dconv
from sfa.separation.registry import FOUR_STEMS
from tests.separation.nets import htdemucs_44k

pytestmark = pytest.mark.skipif(shutil.which(os.environ.get("CXX", "c++")) is None,
                                reason="no C++ compiler to build the fused DConv kernel")


def branch(channels: int = 48, seed: int = 0) -> DConv:
    """demucs' DConv as HTDemucs builds it (compress 8, depth 2: dilations 1 and 2), weights away from
    their initial values so every step matters (the layer scale starts at 1e-4)."""
    torch.manual_seed(seed)
    module = DConv(channels, compress=8, depth=2, init=1e-3, norm=True, gelu=True).eval()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)
    return module


def fused(module: torch.nn.Module) -> dconv.FusedDConv:
    return dconv.FusedDConv(copy.deepcopy(module.layers))


# (rows, channels, time): the frequency branch's rows; one long row (the time branch, several tiles, a
# length no vector width divides); long rows of a batch; a row shorter than a vector.
@pytest.mark.parametrize("shape", [(64, 48, 336), (1, 48, 5999), (2, 16, 1500), (3, 96, 7)])
def test_fused_layers_equal_demucs_own(shape):
    module = branch(shape[1])
    x = torch.randn(*shape) * 2 + 0.5
    with torch.inference_mode():
        expected = module(x)
        assert (fused(module)(x) - expected).abs().max().item() <= 1e-5 * expected.abs().max().item()


def test_the_frequency_branch_gets_its_layout_back_without_a_copy():
    """demucs folds (1, channels, frequencies, time) into rows for its DConv and views the output back as
    (1, channels, frequencies, time) for the next convolution: the fused output is already that tensor."""
    module = branch()
    x = torch.randn(1, 48, 16, 100)
    rows = x.permute(0, 2, 1, 3).reshape(-1, 48, 100)
    with torch.inference_mode():
        expected = module(rows)
        out = fused(module)(rows)
    assert (out - expected).abs().max().item() <= 1e-5 * expected.abs().max().item()
    assert out.view(1, 16, 48, 100).permute(0, 2, 1, 3).is_contiguous()


@pytest.mark.parametrize("shape", [(1, 48, 40000), (64, 48, 336)])  # tiles of a long row; whole short rows
def test_the_output_does_not_depend_on_the_thread_count(shape):
    module, x = fused(branch()), torch.randn(*shape)
    threads = torch.get_num_threads()
    try:
        with torch.inference_mode():
            torch.set_num_threads(1)
            alone = module(x)
            torch.set_num_threads(max(2, threads))
            together = module(x)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(alone, together)


def test_outside_inference_and_off_the_cpu_s_float_the_layers_run_as_they_are():
    module = branch()
    x = torch.randn(4, 48, 50, dtype=torch.float64)
    wrapped = dconv.FusedDConv(module.double().layers)
    with torch.no_grad():
        assert torch.equal(wrapped(x), module(x))
    x = torch.randn(4, 48, 50, dtype=torch.float64, requires_grad=True)
    wrapped(x).sum().backward()
    assert x.grad is not None


def test_fusing_a_network_keeps_its_parameters_and_its_output():
    network = htdemucs_44k(FOUR_STEMS, channels=16).eval()
    state = {name: value.clone() for name, value in network.state_dict().items()}
    branches = sum(isinstance(module, DConv) for module in network.modules())
    x = torch.randn(1, 2, int(44100 * 7.8)) * 0.1  # its training segment
    with torch.inference_mode():
        expected = network(x)
        assert dconv.fuse(network) == branches > 0
        out = network(x)
    assert not any(isinstance(module, DConv) for module in network.modules())
    assert network.state_dict().keys() == state.keys()
    assert all(torch.equal(network.state_dict()[name], value) for name, value in state.items())
    assert (out - expected).abs().max().item() <= 1e-5 * expected.abs().max().item()
    assert dconv.fuse(network) == 0


def test_torchaudio_branches_are_fused_except_those_with_lstm_or_attention():
    """As in ``hdemucs_high``, whose two innermost layers' branches carry an LSTM and attention."""
    torch.manual_seed(0)
    network = HDemucs(list(FOUR_STEMS), channels=8, depth=4, nfft=256, dconv_lstm=3, dconv_attn=3).eval()
    plain = [module for module in network.modules() if isinstance(module, _DConv) and len(module.layers[0]) == 7]
    assert 0 < len(plain) < sum(isinstance(module, _DConv) for module in network.modules())
    x = torch.randn(1, 2, 8000 * 3)
    with torch.inference_mode():
        expected = network(x)
        assert dconv.fuse(network) == len(plain)
        out = network(x)
    assert sum(isinstance(module, _DConv) for module in network.modules()) > 0
    assert (out - expected).abs().max().item() <= 1e-5 * expected.abs().max().item()


def test_without_a_compiler_networks_stay_as_they_are(tmp_path):
    """A machine with no C++ compiler and no cached build separates with demucs' layers."""
    script = ("import torch; from sfa.separation import dconv; from tests.separation.nets import htdemucs;"
              "network = htdemucs(); print(dconv.fuse(network), dconv.available())")
    env = os.environ | {"CXX": str(tmp_path / "no-such-compiler"), "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False"]
    assert "fused DConv layers unavailable" in done.stderr
