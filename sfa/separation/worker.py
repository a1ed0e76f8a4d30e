"""The local engine's side of a ``processing`` job, inside the GPU worker: one :class:`Engine` per worker
process (in ``ctx.state``, so models stay warm across jobs), shared by every job the worker runs at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sfa.actors.performers import JobContext, PermanentError
from sfa.separation.engine import Cancelled, Engine, Settings, tune_process
from sfa.separation.pipeline import UnreadableAudio, read, separate_track, write_stems
from sfa.separation.registry import MissingWeights

ENGINE = "separation_engine"
# Shares of the progress bar: decoding and loading before the chunks (stems are written as they finish).
LOADED, SEPARATED = 0.05, 0.95


def engine_for(ctx: JobContext) -> Engine:
    """The worker's engine, started by its first separation job. Batches fill a GPU; on the CPU a batch of
    chunks runs no faster than its chunks one by one and holds several times the memory
    (``bench.separation``), so chunks go one at a time there, each chunk's tensors in one block planned by
    the first (:mod:`sfa.separation.arena`), the models' DConv branches fused (:mod:`sfa.separation.dconv`).
    The worker process is set up to give other freed memory back, in huge pages, with flash attention
    (:func:`tune_process`)."""
    args = ctx.job.args
    if ENGINE not in ctx.state:
        tune_process()
        batch = int(args["batch"]) if ctx.device.startswith("cuda") else 1
        ctx.state[ENGINE] = Engine(ctx.device, hub=Path(args["hub_dir"]), budget_bytes=int(args["models_bytes"]),
                                   max_batch=batch)
    return ctx.state[ENGINE]


def separate_locally(ctx: JobContext) -> dict[str, Any]:
    args, job_id = ctx.job.args, ctx.job.job_id
    engine = engine_for(ctx)
    ctx.report(0.0, f"loading {args['model']}")
    try:
        bag = engine.cache.get(args["model"])
        track = read(Path(args["data_dir"]) / args["path"])
    except (MissingWeights, UnreadableAudio) as exc:
        raise PermanentError(str(exc)) from None
    ctx.report(LOADED, f"separating on {engine.device}")

    def progress(done: int, total: int) -> None:
        ctx.report(LOADED + (SEPARATED - LOADED) * done / total, f"chunk {done} of {total}")

    settings = Settings(float(args["segment_s"]), float(args["overlap"]), args["weighting"])
    spans = separate_track(engine, bag, track, settings, job=job_id, progress=progress, cancelled=ctx.cancelled)
    try:
        written = write_stems(spans, bag.stems, track.sample_rate, track.channels, Path(args["data_dir"]),
                              args["folder"], job_id)
    except Cancelled as exc:
        raise PermanentError(str(exc)) from None
    finally:
        shared = engine.runner.stats.forget(job_id)
    ctx.report(1.0, "stems written")
    return {"model": bag.name, "engine": "local", "device": str(engine.device), "stems": written,
            "sample_rate": track.sample_rate, "samples": track.samples, "shared_batches": shared}
