"""The separation engine a GPU worker keeps in its process state: warm models and one batching runner.

Every job running in the worker (a GPU worker runs several at once) cuts its track into chunks and hands
them to the one :class:`BatchRunner` thread, a batch's worth ahead of what it has consumed. The runner
takes whatever chunks are waiting, from any job, groups those of the same model and length, and runs each
group as one batch on the device. Jobs consume their results in order, report progress per chunk and check
for cancellation between chunks. :class:`ModelCache` keeps loaded models on the device, least recently used
first out when a new one would pass the memory budget (or when the device runs out of memory).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import queue
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

import torch

from sfa.separation import arena, chunking, dconv
from sfa.separation.models import Bag, load
from sfa.separation.registry import MODELS

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The job was cancelled; it stopped between two chunks."""


class ModelCache:
    def __init__(self, device: torch.device, budget_bytes: int, hub: Path) -> None:
        self.device = device
        self.budget_bytes = budget_bytes
        self.hub = hub
        self._bags: OrderedDict[str, Bag] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, name: str) -> Bag:
        """The model called ``name`` on the device, loaded from the hub cache on first use (once, however
        many jobs ask for it at the same time)."""
        with self._lock:
            if name in self._bags:
                self._bags.move_to_end(name)
                return self._bags[name]
            return self.put(load(MODELS[name], self.hub))

    def put(self, bag: Bag) -> Bag:
        """Keep ``bag`` warm under its name (a model built here, e.g. with random weights in a test). On
        the CPU its DConv branches run fused (:mod:`dconv`)."""
        with self._lock:
            while self._bags and self.resident_bytes + bag.nbytes > self.budget_bytes:
                self._evict_oldest()
            self._bags[bag.name] = bag.to(self.device)
            if self.device.type == "cpu":
                for network in bag.networks:
                    dconv.fuse(network)
            return bag

    def shed(self, keep: str) -> bool:
        """Evict every model but ``keep`` (the device ran out of memory); False when there was none."""
        with self._lock:
            others = [name for name in self._bags if name != keep]
            for name in others:
                self._evict(name)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        return bool(others)

    @property
    def resident_bytes(self) -> int:
        return sum(bag.nbytes for bag in self._bags.values())

    @property
    def names(self) -> list[str]:
        return list(self._bags)

    def _evict_oldest(self) -> None:
        self._evict(next(iter(self._bags)))

    def _evict(self, name: str) -> None:
        log.info("evicting separation model %s from %s", name, self.device)
        self._bags.pop(name).to(torch.device("cpu"))


@dataclass(frozen=True, slots=True)
class ChunkWork:
    """A chunk's model input (``audio``, centred on the ``size`` samples wanted), each network's ``widths``."""

    bag: Bag
    audio: torch.Tensor
    size: int
    widths: tuple[int, ...]
    job: int
    done: Future = field(default_factory=Future)

    @property
    def shape(self) -> tuple[str, int, int, tuple[int, ...]]:
        """Chunks of one shape run as one batch."""
        return self.bag.name, self.audio.shape[-1], self.size, self.widths


@dataclass(slots=True)
class RunnerStats:
    """Counts since the runner started; ``shared`` counts, per running job, the batches it shared with
    another job (the proof that concurrent jobs batch together), until the job is forgotten."""

    batches: int = 0
    chunks: int = 0
    mixed_batches: int = 0
    shared: dict[int, int] = field(default_factory=dict)

    def record(self, jobs: set[int], chunks: int) -> None:
        self.batches += 1
        self.chunks += chunks
        if len(jobs) > 1:
            self.mixed_batches += 1
            for job in jobs:
                self.shared[job] = self.shared.get(job, 0) + 1

    def forget(self, job: int) -> int:
        return self.shared.pop(job, 0)


class BatchRunner:
    """One thread, the only one touching the device: runs waiting chunks in batches of up to ``max_batch``.
    On the CPU each batch's forward runs under its shape's memory plan (:mod:`arena`), when one can be built."""

    def __init__(self, cache: ModelCache, max_batch: int) -> None:
        self.cache = cache
        self.max_batch = max_batch
        self.planned = cache.device.type == "cpu" and arena.install()
        self.stats = RunnerStats()
        self._queue: queue.SimpleQueue[ChunkWork] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="separation-batches", daemon=True)
        self._thread.start()

    def submit(self, bag: Bag, audio: torch.Tensor, job: int, size: int | None = None,
               widths: tuple[int, ...] | None = None) -> Future:
        """Run ``audio`` (``(channels, time)``) through ``bag``; the future's result is ``(stems, channels,
        size)`` on the CPU (by default the whole input, every network taking all of it)."""
        size = audio.shape[-1] if size is None else size
        work = ChunkWork(bag, audio, size, widths or (audio.shape[-1],) * len(bag), job)
        self._queue.put(work)
        return work.done

    def _loop(self) -> None:
        while True:
            waiting = [self._queue.get()]
            while True:
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for group in self._groups(waiting):
                for start in range(0, len(group), self.max_batch):
                    self._run(group[start:start + self.max_batch])

    @staticmethod
    def _groups(waiting: list[ChunkWork]) -> list[list[ChunkWork]]:
        """Waiting chunks by model and length, each group dealt round-robin over its jobs, so every batch
        carries every waiting job forward rather than one job's chunks queueing behind another's."""
        groups: dict[tuple[str, int, int, tuple[int, ...]], dict[int, list[ChunkWork]]] = {}
        for work in waiting:
            if work.done.set_running_or_notify_cancel():
                groups.setdefault(work.shape, {}).setdefault(work.job, []).append(work)
        return [[work for turn in zip_longest(*by_job.values()) for work in turn if work is not None]
                for by_job in groups.values()]

    @property
    def waiting(self) -> int:
        """Chunks submitted and not yet taken into a batch."""
        return self._queue.qsize()

    def _run(self, group: list[ChunkWork]) -> None:
        try:
            outputs = self._forward(group[0], torch.stack([work.audio for work in group]))
        except Exception as exc:  # each waiting job gets the failure as its chunk's outcome
            for work in group:
                work.done.set_exception(exc)
            return
        self.stats.record({work.job for work in group}, len(group))
        for work, output in zip(group, outputs, strict=True):
            work.done.set_result(output)

    def _forward(self, first: ChunkWork, batch: torch.Tensor) -> torch.Tensor:
        device, bag = self.cache.device, first.bag
        # Keyed by what the networks are given: a last, shorter chunk is trimmed from the same forward.
        key = (bag.name, tuple(batch.shape), first.widths)
        plan = arena.planned(key) if self.planned else contextlib.nullcontext()
        try:
            with plan:
                return bag(batch.to(device), first.size, first.widths).cpu()
        except torch.OutOfMemoryError:
            if not self.cache.shed(keep=bag.name) and len(batch) == 1:
                raise
            log.warning("out of memory on %s with a batch of %d; retrying smaller", device, len(batch))
            half = max(1, len(batch) // 2)
            return torch.cat([bag(part.to(device), first.size, first.widths).cpu() for part in batch.split(half)])


@dataclass(frozen=True, slots=True)
class Settings:
    """Chunks of ``segment_s`` overlapping by ``overlap``, joined by ``weighting`` (:mod:`chunking`)."""

    segment_s: float
    overlap: float
    weighting: str = chunking.DEMUCS


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD = 1 << 16


def tune_process() -> bool:
    """Set this process up to separate in bounded memory, fast: call it before the process' first tensor.

    Memory: glibc serves every allocation of 64 KiB or more from its own mapping, given back on free.
    glibc's default threshold adapts upwards as large blocks are freed, so after the first chunk the
    model's intermediate tensors (up to 32 MiB each) come from the heap, whose freed holes are kept and
    fragment: the resident size grows to about twice what a chunk keeps alive at once (measured on
    HTDemucs, ``bench.separation``). A fixed threshold returns each freed block to the system at once.

    Time: fresh mappings are paid in page faults, and a 7.8 s chunk of HTDemucs allocates about 7 GB over
    its forward (0.4 GB of it alive at once): 1.9 million faults of 4 KiB, 3 s of system time per chunk on
    one thread, more than demucs' whole chunk costs in glibc's default heap. So the CPU's forwards run under
    a memory plan (:mod:`arena`, installed by the engine): after a shape's first chunk its tensors reuse one
    block, without faults. The threshold still bounds that first chunk and everything outside forwards,
    and large blocks there come in huge pages (2 MiB a fault: a fifth of the faults, a third of the system
    time): PyTorch aligns and advises them so (``THP_MEM_ALLOC_ENABLE``) when the variable is set at the
    process' first tensor, which ``sfa.separation`` does on import, before torch is.

    Attention: ``nn.MultiheadAttention``'s fast path (self-attention in eval mode) materialises every
    head's attention matrix; without it the layer calls ``scaled_dot_product_attention``, a blocked flash
    kernel on the CPU: the same output (to 1e-7) in about 7 % less time per HTDemucs chunk.

    Process-wide, so the GPU worker process sets it when it starts its engine. False where the C library
    is not glibc (the other two settings hold regardless)."""
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        return ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    except (OSError, AttributeError):
        return False


class Engine:
    """What a GPU worker keeps warm: the model cache and the batch runner on its device."""

    def __init__(self, device: str, *, hub: Path, budget_bytes: int, max_batch: int) -> None:
        self.device = torch.device(device if device.startswith("cuda") and torch.cuda.is_available() else "cpu")
        self.cache = ModelCache(self.device, budget_bytes, hub)
        self.runner = BatchRunner(self.cache, max_batch)
        self._streaming = 0
        self._streaming_lock = threading.Lock()

    def plan(self, bag: Bag, samples: int, settings: Settings) -> chunking.Plan:
        # demucs' own expression for the segment's samples, so both cut the same chunks.
        segment = int(bag.sample_rate * settings.segment_s)
        if bag.max_segment is not None:
            segment = min(segment, bag.max_segment)
        return chunking.plan(samples, segment=segment, overlap=settings.overlap, weighting=settings.weighting)

    def stream(self, bag: Bag, mix: torch.Tensor, settings: Settings, *, job: int,
               level: chunking.Level | None = None, progress: Callable[[int, int], None] = lambda done, total: None,
               cancelled: Callable[[], bool] = lambda: False) -> Iterator[torch.Tensor]:
        """``mix`` (``(channels, samples)`` at the model's rate, normalised by ``level`` chunk by chunk) → its output in
        consecutive spans (``(stems, channels, span)``) as each becomes final; see :mod:`chunking` for the
        chunks and how they are joined. Keeps a batch's worth of chunks submitted ahead of the one it waits
        for; between two chunks it reports progress and checks ``cancelled``. When the last job streaming
        ends, the memory plan of the CPU's forwards is given back (an idle worker holds no activations)."""
        plan = self.plan(bag, mix.shape[-1], settings)
        joined = chunking.OverlapAdd(plan, len(bag.stems), mix.shape[0])
        total, submitted = len(plan.starts), 0
        in_flight: deque[Future] = deque()
        with self._streaming_lock:
            self._streaming += 1
        try:
            for index in range(total):
                if cancelled():
                    raise Cancelled(f"cancelled after {index} of {total} chunks")
                # This chunk and a batch's worth after it: the runner has the next batch while the job
                # joins and writes this one.
                while submitted < min(total, index + 1 + self.runner.max_batch):
                    in_flight.append(self._submit(bag, mix, level, plan, submitted, job))
                    submitted += 1
                span = joined.add(index, in_flight.popleft().result())
                progress(index + 1, total)
                yield span
        finally:
            for future in in_flight:
                future.cancel()
            with self._streaming_lock:
                self._streaming -= 1
                if not self._streaming and self.runner.planned:
                    arena.release()

    def separate(self, bag: Bag, mix: torch.Tensor, settings: Settings, *, job: int,
                 progress: Callable[[int, int], None] = lambda done, total: None,
                 cancelled: Callable[[], bool] = lambda: False) -> torch.Tensor:
        """:meth:`stream`'s spans joined: ``(stems, channels, samples)``."""
        return torch.cat(list(self.stream(bag, mix, settings, job=job, progress=progress, cancelled=cancelled)), -1)

    def _submit(self, bag: Bag, mix: torch.Tensor, level: chunking.Level | None, plan: chunking.Plan, index: int,
                job: int) -> Future:
        size = plan.size(index)
        widths = bag.widths(size, plan.segment) if plan.weighting == chunking.DEMUCS else (size,) * len(bag)
        return self.runner.submit(bag, chunking.chunk(mix, plan, index, max(widths), level), job, size, widths)
