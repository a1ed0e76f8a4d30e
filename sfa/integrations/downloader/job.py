"""The ``download`` job kind: fetch a URL into a track's file, then record it on the track.

``perform`` runs in a download worker process; ``prepare`` and ``record`` run in the server, around it.
The file is fetched to a temp name, decoded end to end, and only then renamed to the track's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sfa.actors.performers import JobContext, performer
from sfa.config import Config
from sfa.integrations.downloader.base import DEFAULT_QUALITY, DownloadRejected, Limits
from sfa.integrations.downloader.registry import backend_for
from sfa.tracks.audio import NotAudio, probe
from sfa.tracks.files import original_path, promote, temp_path
from sfa.tracks.store import set_track_file

MIB = 1 << 20
# The share of the progress bar the transfer takes; decoding and moving the file take the rest.
TRANSFER_SHARE = 0.9


@performer("download")
def perform(ctx: JobContext) -> dict[str, Any]:
    args = ctx.job.args
    data_dir, track_id = Path(args["data_dir"]), int(args["track_id"])
    backend = backend_for(args["url"])
    temp = temp_path(data_dir)
    try:
        ctx.report(0.0, f"fetching with {backend.name}")
        size = backend.fetch(args["url"], args.get("quality", DEFAULT_QUALITY), temp,
                             Limits(int(args["max_bytes"]), float(args["timeout_s"])),
                             lambda share, message: ctx.report(share * TRANSFER_SHARE, message))
        ctx.report(TRANSFER_SHARE, "checking the audio")
        try:
            info = probe(temp)
        except NotAudio as exc:
            raise DownloadRejected(str(exc)) from None
        relative = original_path(track_id, info.extension)
        promote(temp, data_dir, relative)
    finally:
        temp.unlink(missing_ok=True)
    return {"output_path": relative, "file_size": size, "format": info.extension, "duration": info.duration_s,
            "sample_rate": info.sample_rate, "channels": info.channels, "backend": backend.name}


def prepare(job: Any, config: Config) -> Mapping[str, Any]:
    """What the worker needs beyond the job's own arguments (kept out of the row: they are the server's)."""
    return {**job.args, "track_id": job.track_id, "data_dir": str(config.data_dir),
            "max_bytes": config.download_max_mb * MIB, "timeout_s": config.download_timeout_s}


async def record(conn: Any, job: Any, config: Config) -> None:
    result = job.result
    if job.track_id is not None:
        await set_track_file(conn, job.track_id, path=result["output_path"], format=result["format"],
                             file_size=result["file_size"], duration_s=result["duration"],
                             sample_rate=result["sample_rate"], channels=result["channels"])
