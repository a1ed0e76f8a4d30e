"""Stem separation: the model registry, chunked batched inference on the GPU worker, the processing job.

Only the registry and the job kind are imported by the server; the engine (``engine``, ``models``,
``pipeline``, ``worker``) imports torch and is loaded where separation runs.
"""

import os

# PyTorch reads this once, at its process' first tensor, so it is set before any module here imports torch
# (and inherited by the worker processes a server starts): see ``engine.tune_process``.
HUGE_PAGES = "THP_MEM_ALLOC_ENABLE"
os.environ.setdefault(HUGE_PAGES, "1")

from sfa.separation.registry import DEFAULT_MODEL, MODELS, MissingWeights, ModelSpec, hub_dir, model_spec  # noqa: E402

__all__ = ["DEFAULT_MODEL", "HUGE_PAGES", "MODELS", "MissingWeights", "ModelSpec", "hub_dir", "model_spec"]
