"""The ``analysis`` job kind: ``perform`` runs ``sfa.dsp`` in an analysis worker process; ``prepare`` and
``record`` run in the server around it. A file that cannot be analysed (``sfa.dsp``'s ``DspError``) fails
the job at once (retrying cannot help) with a readable error, and the worker carries on with the next job;
any other exception is a bug, and crashes the worker like one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pypika import PostgreSQLQuery, Table, functions
from pypika.terms import Parameter

from sfa.actors.performers import JobContext, PermanentError
from sfa.config import Config
from sfa.dsp import FEATURE_GROUPS, BackendUnavailableError, DspError, analyze_file, get_xp
from sfa.jobs.kinds import JobKind

analysis_results = Table("analysis_results")
tracks = Table("tracks")

INSERT_RESULT = str(PostgreSQLQuery.into(analysis_results).columns("track_id", "job_id", "result")
                    .insert(Parameter("$1"), Parameter("$2"), Parameter("$3")))
# COALESCE keeps what the user set (or an earlier analysis filled); only empty fields are filled.
FILL_TRACK = str(PostgreSQLQuery.update(tracks)
                 .set(tracks.bpm, functions.Coalesce(tracks.bpm, Parameter("$2")))
                 .set(tracks.key, functions.Coalesce(tracks.key, Parameter("$3")))
                 .set(tracks.updated_at, functions.Now())
                 .where(tracks.id == Parameter("$1")))
MIN_BPM, MAX_BPM = 20, 300


def perform(ctx: JobContext) -> dict[str, Any]:
    args = ctx.job.args
    ctx.report(0.0, "analysing")
    try:
        xp = get_xp(args["dsp_backend"])
    except BackendUnavailableError as exc:
        raise PermanentError(f"analysis is unavailable on this server: {exc}") from None
    try:
        result = analyze_file(Path(args["data_dir"]) / args["path"], features=args["features"],
                              xp=xp,
                              progress=lambda share: ctx.report(share * 0.9, "analysing"))
    except DspError as exc:
        raise PermanentError(f"cannot analyse this track: {exc}") from None
    ctx.report(1.0, "analysed")
    return result


def prepare(job: Any, config: Config) -> Mapping[str, Any]:
    return {**job.args, "data_dir": str(config.data_dir), "dsp_backend": config.dsp_backend}


async def record(conn: Any, job: Any, config: Config) -> None:
    if job.track_id is None:
        return
    result = job.result
    await conn.execute(INSERT_RESULT, job.track_id, job.id, json.dumps(result))
    tempo = result.get("tempo")
    bpm = round(tempo, 2) if isinstance(tempo, int | float) and MIN_BPM <= tempo <= MAX_BPM else None
    await conn.execute(FILL_TRACK, job.track_id, bpm, result.get("key"))


def feature_groups(requested: object) -> list[str] | None:
    """The groups a request names (a name, a list of names, or ``all``); None when it names something else."""
    names = [requested] if isinstance(requested, str) else requested
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        return None
    if "all" in names:
        return list(FEATURE_GROUPS)
    if set(names) - set(FEATURE_GROUPS):
        return None
    return sorted(set(names), key=FEATURE_GROUPS.index)


ANALYSIS_KIND = JobKind(
    "analysis",
    queue="analysis",
    workers="workers_analysis",
    perform=perform,
    prepare=prepare,
    record=record,
)
