"""``run.py models --check``: what an operator placed under the torch hub cache, checked before a job finds out.

Each model's files are listed with their size; a demucs checkpoint's name carries the start of its SHA-256
(``<signature>-<hash>.th``, torch.hub's ``check_hash`` convention), which is verified; then each model
whose files are all present and intact separates 5 s of noise on the CPU, so a file that is truncated,
corrupted or of another architecture fails here, naming the model. Before the models, the CPU's native
parts (the fused DConv kernel, the memory plan) are built or found cached: without them the CPU
separates at about 0.7x demucs' speed, which an operator would rather learn here than from a slow job.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sfa.actors.performers import failure_message
from sfa.separation.registry import ModelSpec

# torch.hub's HASH_REGEX: the hex digits between the last dash and the extension.
HASH = re.compile(r"-([a-f0-9]+)\.")
SMOKE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class FileCheck:
    name: str
    size: int | None  # None: absent
    expected: str | None  # the hash prefix the name carries
    intact: bool | None  # None: no hash to check, or absent

    def describe(self) -> str:
        if self.size is None:
            return f"{self.name}: missing"
        verdict = "no hash in its name" if self.intact is None else \
            f"sha256 {self.expected}… " + ("ok" if self.intact else "MISMATCH (corrupted or another file)")
        return f"{self.name}: {self.size / 2**20:.1f} MiB, {verdict}"


@dataclass(frozen=True, slots=True)
class ModelCheck:
    name: str
    files: tuple[FileCheck, ...]
    smoke: str | None  # what the smoke separation gave; None when it did not run

    @property
    def present(self) -> bool:
        return all(file.size is not None for file in self.files)

    @property
    def ok(self) -> bool:
        """Absent models are not failures (an operator installs the ones they use); present ones must pass."""
        return not self.present or (all(file.intact is not False for file in self.files)
                                    and self.smoke is not None and self.smoke.startswith("ok"))


def check_file(hub: Path, name: str) -> FileCheck:
    path = hub / name
    if not path.is_file():
        return FileCheck(name, None, None, None)
    found = HASH.findall(Path(name).name)
    if not found:
        return FileCheck(name, path.stat().st_size, None, None)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return FileCheck(name, path.stat().st_size, found[-1], digest.hexdigest().startswith(found[-1]))


def smoke(spec: ModelSpec, hub: Path) -> str:
    """Load the model and separate 5 s of noise through the worker's path; a line saying how it went."""
    import torch

    from sfa.separation.engine import Engine, Settings
    from sfa.separation.models import load
    from sfa.separation.pipeline import Track, separate_track

    started = time.perf_counter()
    try:
        bag = load(spec, hub)
        engine = Engine("cpu", hub=hub, budget_bytes=1 << 40, max_batch=1)
        engine.cache.put(bag)
        noise = torch.randn(2, int(SMOKE_SECONDS * bag.sample_rate), generator=torch.Generator().manual_seed(0))
        stems = torch.cat(list(separate_track(engine, bag, Track(noise * 0.1, bag.sample_rate),
                                              Settings(7.8, 0.25), job=0)), -1)
    except Exception as exc:  # whatever a bad file raises is the finding to print
        return f"FAILED: {failure_message(exc)}"
    if stems.shape != (len(spec.stems), *noise.shape) or not torch.isfinite(stems).all():
        return f"FAILED: output {tuple(stems.shape)}, finite: {bool(torch.isfinite(stems).all())}"
    return f"ok, {SMOKE_SECONDS:g} s separated in {time.perf_counter() - started:.1f} s"


def native_parts() -> str:
    """A line on the CPU's native parts: built (where they are kept) or why not."""
    from sfa.separation import arena, dconv, native

    problems = []
    for name, build in (("fused DConv", dconv.library), ("memory plan", arena.library)):
        try:
            build()
        except OSError as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        return "UNAVAILABLE, the CPU separates at about 0.7x demucs' speed (" + "; ".join(problems) + ")"
    return f"fused DConv and memory plan built (kept in {native.cache_dir()})"


def check_models(models: Mapping[str, ModelSpec], hub: Path, *, separate: bool) -> Iterator[ModelCheck]:
    """Each model's files, and (``separate``) a smoke separation of each model present and intact."""
    for spec in models.values():
        files = tuple(check_file(hub, name) for name in spec.files)
        runnable = separate and all(file.size is not None and file.intact is not False for file in files)
        yield ModelCheck(spec.name, files, smoke(spec, hub) if runnable else None)
