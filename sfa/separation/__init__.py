"""Stem separation: the model registry, chunked batched inference on the GPU worker, the processing job.

Only the registry and the job kind are imported by the server; the engine (``engine``, ``models``,
``pipeline``, ``worker``) imports torch and is loaded where separation runs.
"""

from sfa.separation.registry import DEFAULT_MODEL, MODELS, MissingWeights, ModelSpec, hub_dir, model_spec

__all__ = ["DEFAULT_MODEL", "MODELS", "MissingWeights", "ModelSpec", "hub_dir", "model_spec"]
