"""The ``processing`` job kind: separate a track into stems, on the GPU worker or through lalal.ai.

``perform`` runs in the GPU worker process (the server routes the processing queue there) and picks the
engine the job names; ``prepare`` and ``record`` run in the server around it. Stems are written under
``tracks/<track_id>/stems/<job_id>/`` and recorded as ``stems`` rows when the job completes, in the same
transaction. Nothing here imports torch: the local engine is imported in the worker, on its first job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pypika import PostgreSQLQuery, Table
from pypika.terms import Parameter

from sfa.actors.performers import JobContext
from sfa.config import Config
from sfa.jobs.kinds import JobKind
from sfa.separation.registry import hub_dir

LOCAL, LALALAI = "local", "lalalai"
ENGINES = (LOCAL, LALALAI)
MIB = 1 << 20

stems = Table("stems")
INSERT_STEM = str(PostgreSQLQuery.into(stems).columns("track_id", "job_id", "name", "model", "path", "file_size")
                  .insert(*(Parameter(f"${n}") for n in range(1, 7))))


def pool_for(job: Any) -> str:
    """Local separation runs on the GPU worker, which keeps its models warm and batches chunks; a lalal.ai
    job only uploads and polls, so it takes a processing JobWorker and leaves the GPU's slots free."""
    return "gpu" if job.args.get("engine", LOCAL) == LOCAL else job.queue


def stems_folder(track_id: int, job_id: int) -> str:
    return f"tracks/{track_id}/stems/{job_id}"


def _local(ctx: JobContext) -> dict[str, Any]:
    from sfa.separation.worker import separate_locally

    return separate_locally(ctx)


def _lalalai(ctx: JobContext) -> dict[str, Any]:
    from sfa.integrations.lalalai.job import separate_remotely

    return separate_remotely(ctx)


PERFORM = {LOCAL: _local, LALALAI: _lalalai}


def perform(ctx: JobContext) -> dict[str, Any]:
    return PERFORM[ctx.job.args["engine"]](ctx)


def prepare(job: Any, config: Config) -> Mapping[str, Any]:
    """The server's settings the worker needs (kept out of the job row; the lalal.ai key above all)."""
    return {**job.args, "track_id": job.track_id, "job_id": job.id, "data_dir": str(config.data_dir),
            "folder": stems_folder(job.track_id, job.id), "hub_dir": str(hub_dir()),
            "segment_s": config.separation_segment_s, "overlap": config.separation_overlap,
            "weighting": config.separation_weighting,
            "batch": config.separation_batch, "models_bytes": config.separation_models_mb * MIB,
            "lalalai_url": config.lalalai_url, "lalalai_key": config.lalalai_key}


async def record(conn: Any, job: Any, config: Config) -> None:
    if job.track_id is None:
        return
    for stem in job.result["stems"]:
        await conn.execute(INSERT_STEM, job.track_id, job.id, stem["name"], job.result["model"], stem["path"],
                           stem["file_size"])


PROCESSING_KIND = JobKind(
    "processing",
    queue="processing",
    workers="workers_processing",
    perform=perform,
    prepare=prepare,
    record=record,
    pool=pool_for,
)
