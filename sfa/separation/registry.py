"""The separation models this server knows, by the names clients use, and where their weights live.

Weights are never downloaded by the server: they come through the torch hub cache, so an offline host
is seeded by copying files under ``$TORCH_HOME/hub`` (``~/.cache/torch/hub`` without ``TORCH_HOME``),
exactly where ``torch.hub`` itself caches them. Two families:

* ``demucs``: the demucs package's pretrained checkpoints (``hub/checkpoints/<sig>-<hash>.th``, fetched by
  demucs through ``torch.hub.load_state_dict_from_url``). Each checkpoint carries its own architecture
  (HTDemucs for ``htdemucs*``, HDemucs v3 or time-only Demucs inside the ``mdx_extra`` bag).
* ``torchaudio``: torchaudio's ``HDEMUCS_HIGH_*`` bundles (``hub/torchaudio/models/*.pt``), state dicts for
  ``torchaudio.models.hdemucs_high``.

This module imports no torch: the web server lists models without paying for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FOUR_STEMS = ("drums", "bass", "other", "vocals")
DEMUCS = "demucs"
TORCHAUDIO = "torchaudio"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """``files`` are relative to the hub dir; a bag of several files averages its models per stem with
    ``weights`` (one row per file, one column per stem; None = equal weights)."""

    name: str
    description: str
    family: str
    stems: tuple[str, ...]
    files: tuple[str, ...]
    sample_rate: int = 44100
    weights: tuple[tuple[float, ...], ...] | None = None
    segment_s: float | None = None

    def to_json(self, hub: Path) -> dict[str, object]:
        return {"name": self.name, "description": self.description, "stems": list(self.stems),
                "family": self.family, "sample_rate": self.sample_rate, "default": self.name == DEFAULT_MODEL,
                "weights_present": not missing_files(self, hub), "files": list(self.files)}


def _checkpoints(*names: str) -> tuple[str, ...]:
    return tuple(f"checkpoints/{name}" for name in names)


MODELS: Mapping[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("htdemucs", "Hybrid Transformer Demucs (v4), MUSDB-HQ plus 800 songs; the default", DEMUCS,
              FOUR_STEMS, _checkpoints("955717e8-8726e21a.th")),
    ModelSpec("htdemucs_ft", "Hybrid Transformer Demucs fine-tuned per stem: a bag of four, slower, a little better",
              DEMUCS, FOUR_STEMS,
              _checkpoints("f7e0c4bc-ba3fe64a.th", "d12395a8-e57c48e6.th", "92cfc3b6-ef3bcb9c.th",
                           "04573f0d-f3cf25b2.th"),
              weights=((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1))),
    ModelSpec("htdemucs_6s", "Hybrid Transformer Demucs with guitar and piano stems (experimental)", DEMUCS,
              (*FOUR_STEMS, "guitar", "piano"), _checkpoints("5c90dfd2-34c22ccb.th")),
    ModelSpec("mdx_extra", "Hybrid Demucs (v3) bag of four from the MDX 2021 challenge, trained with extra data",
              DEMUCS, FOUR_STEMS,
              _checkpoints("e51eebcc-c1b80bdd.th", "a1d90b5c-ae9d2452.th", "5d2d6c55-db83574e.th",
                           "cfa93e08-61801ae1.th"),
              segment_s=44.0),
    ModelSpec("hdemucs_high_musdb_plus", "torchaudio HDEMUCS_HIGH_MUSDB_PLUS: Hybrid Demucs, MUSDB-HQ plus 150 songs",
              TORCHAUDIO, FOUR_STEMS, ("torchaudio/models/hdemucs_high_trained.pt",)),
    ModelSpec("hdemucs_high_musdb", "torchaudio HDEMUCS_HIGH_MUSDB: Hybrid Demucs trained on MUSDB-HQ only",
              TORCHAUDIO, FOUR_STEMS, ("torchaudio/models/hdemucs_high_musdbhq_only.pt",)),
)}
DEFAULT_MODEL = "htdemucs"


class MissingWeights(Exception):
    """A model's weight files are not in the torch hub cache. The message, which the job's owner reads, names
    each file by its place in the cache, not the server's path to it (``run.py models --check`` shows that)."""

    def __init__(self, spec: ModelSpec, hub: Path, missing: list[str]) -> None:
        super().__init__(f"the weights of model {spec.name!r} are not installed: place {', '.join(missing)} in the "
                         f"torch hub cache (TORCH_HOME/hub; `python3 run.py models --check` lists it); the server "
                         f"never downloads them")
        self.hub, self.missing = hub, missing


def hub_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``torch.hub.get_dir()`` without importing torch: ``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub``,
    else ``~/.cache/torch/hub``."""
    environ = os.environ if environ is None else environ
    home = environ.get("TORCH_HOME") or Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "torch"
    return Path(home).expanduser() / "hub"


def missing_files(spec: ModelSpec, hub: Path) -> list[str]:
    return [name for name in spec.files if not (hub / name).is_file()]


def model_spec(name: str) -> ModelSpec | None:
    return MODELS.get(name)
