"""One DConv residual branch of HTDemucs, demucs' own operators against the fused kernel (sfa.separation.dconv).

The branch as htdemucs builds it (compress 8, two layers, dilations 1 and 2) at the shapes a 7.8 s chunk
gives it: the frequency branch's first and third layers (its rows are frequencies) and the time branch's
first layer (one long row). Interleaved runs on the CPU, best of ``--repeat``; prints each one's time and
the largest difference.
Run: .venv/bin/python -m bench.dconv [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

import torch
from demucs.demucs import DConv

from sfa.separation import dconv

SHAPES = {"frequency, first layer": (512, 48, 336), "time, first layer": (1, 48, 85995),
          "frequency, third layer": (32, 192, 336)}


def best(modules: list[torch.nn.Module], x: torch.Tensor, repeat: int) -> list[float]:
    """Each module's best time on ``x`` in ms, the modules run in turns."""
    times = [float("inf")] * len(modules)
    for _ in range(repeat):
        for index, module in enumerate(modules):
            started = time.perf_counter()
            module(x)
            times[index] = min(times[index], (time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not dconv.available():
        raise SystemExit("the fused kernel could not be built (see the log)")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    torch.manual_seed(0)
    with torch.inference_mode():
        for name, shape in SHAPES.items():
            stock = DConv(shape[1], compress=8, depth=2, init=1e-3).eval()
            fused = dconv.FusedDConv(stock.layers)
            x = torch.randn(*shape)
            difference = (fused(x) - stock(x)).abs().max().item()
            theirs, ours = best([stock, fused], x, args.repeat)
            print(f"{name:24s} {'x'.join(map(str, shape)):>12s}: demucs' operators {theirs:7.1f} ms, fused "
                  f"{ours:6.1f} ms ({theirs / ours:.1f}x), max diff {difference:.1e}")


if __name__ == "__main__":
    main()
