"""demucs' DConv residual branches on the CPU in one kernel (``dconv.cpp``).

Every encoder and decoder layer of HDemucs and HTDemucs ends in a DConv: per layer, a dilated convolution
down to an eighth of the channels, a group norm, GELU, a 1x1 convolution back up to twice the channels, a
group norm, GLU, a per-channel scale, and the residual. PyTorch runs these as ten operators, each writing a
tensor the size of the layer's input or twice it (the frequency branch's first layer: 66 MB a step),
while the arithmetic is small (a few hidden channels): memory-bound steps, 28 % of an HTDemucs forward on
two CPU threads (``bench/README.md``). The kernel keeps a stretch of a row and its intermediates in cache
and writes each layer's output once (a frequency row, short, goes through all the branch's layers at
once): 4-6x faster on the outer layers, which carry most of the data (``bench.dconv``), its output
equal to the operators' to float rounding (a few 1e-7 on unit-scale inputs).

:func:`fuse` puts :class:`FusedDConv` in place of each DConv whose layers have exactly that structure
(demucs' ``DConv`` and torchaudio's ``_DConv`` without their LSTM or attention layers), keeping the same
parameters under the same names. The fused module runs the kernel for float32 inputs on the CPU outside
autograd and the original layers otherwise (a GPU, training), and nothing changes when the library cannot
be built (no compiler).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import torch
from torch import nn

from sfa.separation import native

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("dconv.cpp")
_loaded: bool | None = None
_lock = threading.Lock()


def library() -> Path:
    """The kernel's library, built for this CPU unless cached (OSError when it cannot be)."""
    return native.build(SOURCE, flags=native.TUNED, libraries=("c10", "torch_cpu"))


def available() -> bool:
    """Whether the kernel is loaded (built on first call; False, logged, when it cannot be)."""
    global _loaded
    with _lock:
        if _loaded is None:
            try:
                torch.ops.load_library(library())
                _loaded = True
            except OSError as exc:
                log.warning("fused DConv layers unavailable, running demucs' own: %s", exc)
                _loaded = False
        return _loaded


def _fusable(layer: nn.Module) -> bool:
    """A branch layer of exactly: dilated Conv1d with 'same' padding, GroupNorm(1), exact GELU, 1x1 Conv1d
    to twice the input channels, GroupNorm(1), GLU over channels, a per-channel scale."""
    if not isinstance(layer, nn.Sequential) or len(layer) != 7:
        return False
    down, norm1, act, up, norm2, glu, scale = layer
    return (type(down) is nn.Conv1d and type(up) is nn.Conv1d and type(norm1) is nn.GroupNorm
            and type(norm2) is nn.GroupNorm and type(act) is nn.GELU and type(glu) is nn.GLU
            and down.bias is not None and up.bias is not None and down.stride == (1,) and down.groups == 1
            and down.padding_mode == "zeros" and isinstance(down.padding, tuple)
            and 2 * down.padding[0] == down.dilation[0] * (down.kernel_size[0] - 1)
            and up.kernel_size == (1,) and up.stride == (1,) and up.groups == 1
            and up.in_channels == down.out_channels and up.out_channels == 2 * down.in_channels
            and norm1.num_groups == 1 and norm2.num_groups == 1 and norm1.affine and norm2.affine
            and act.approximate == "none" and glu.dim == 1
            and isinstance(getattr(scale, "scale", None), nn.Parameter) and scale.scale.shape == (down.in_channels,)
            and not getattr(scale, "channel_last", False))


class FusedDConv(nn.Module):
    """A DConv (``x = x + layer(x)`` for each layer) whose layers run as :mod:`dconv`'s kernel where it
    applies (and the kernel could be built)."""

    def __init__(self, layers: nn.ModuleList) -> None:
        super().__init__()
        self.layers = layers
        self.kernel = available()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.kernel or x.device.type != "cpu" or x.dtype != torch.float32 or torch.is_grad_enabled():
            for layer in self.layers:
                x = x + layer(x)
            return x
        parameters, dilations, eps = [], [], []
        for down, norm1, _, up, norm2, _, scale in self.layers:
            parameters += [down.weight, down.bias, norm1.weight, norm1.bias, up.weight, up.bias, norm2.weight,
                           norm2.bias, scale.scale]
            dilations.append(down.dilation[0])
            eps += [norm1.eps, norm2.eps]
        return torch.ops.sfa.dconv(x, parameters, dilations, eps)


def fuse(network: nn.Module) -> int:
    """Replace ``network``'s fusable DConvs in place; how many were replaced (0 without the kernel)."""
    if not available():
        return 0
    found = [(parent, name, child) for parent in network.modules() for name, child in parent.named_children()
             if isinstance(getattr(child, "layers", None), nn.ModuleList) and not isinstance(child, FusedDConv)
             and type(child).__name__ in ("DConv", "_DConv") and len(child.layers)
             and all(_fusable(layer) for layer in child.layers)]
    for parent, name, child in found:
        setattr(parent, name, FusedDConv(child.layers))
    return len(found)
