"""The GPUs the GPU worker pool gets, asked of the NVIDIA driver's own tool rather than of torch.

Counting devices through torch would import it into the web process that builds the supervision tree:
seconds at every start and some 350 MB that the process never uses. ``nvidia-smi`` ships with the driver,
so where it is missing there is no NVIDIA GPU to use either.
"""

from __future__ import annotations

import logging
import os
import subprocess

log = logging.getLogger(__name__)


def gpu_devices() -> list[str]:
    """``cuda:N`` for each GPU that ``nvidia-smi -L`` lists and ``CUDA_VISIBLE_DEVICES`` lets through;
    ``["cpu"]`` when there is none."""
    try:
        listing = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("no NVIDIA GPU: %s", exc)
        return ["cpu"]
    count = sum(1 for line in listing.splitlines() if line.startswith("GPU "))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        count = _visible(visible, count)
    return [f"cuda:{index}" for index in range(count)] or ["cpu"]


def _visible(value: str, present: int) -> int:
    """How many devices ``CUDA_VISIBLE_DEVICES=value`` leaves: CUDA takes entries up to the first one that
    names no device (so ``""`` and ``"-1"`` hide them all)."""
    count = 0
    for entry in value.split(","):
        entry = entry.strip()
        if not (entry.startswith(("GPU-", "MIG-")) or (entry.isdigit() and int(entry) < present)):
            break
        count += 1
    return count
