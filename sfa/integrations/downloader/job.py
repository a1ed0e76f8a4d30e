"""The ``download`` job kind: fetch a source into a track's file, then record it on the track.

``perform`` runs in a download worker process; ``prepare`` and ``record`` run in the server, around it.
The backends for the URL are tried in ``SFA_DOWNLOADER``'s order until one fetches it; the file lands
under a temp name, is decoded end to end, and only then renamed to the track's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sfa.actors.performers import JobContext
from sfa.config import Config
from sfa.integrations.downloader.base import (
    DEFAULT_QUALITY,
    Downloader,
    DownloadRejected,
    Fetched,
    Limits,
    Source,
    Transfer,
    Unsupported,
)
from sfa.integrations.downloader.registry import backends_for
from sfa.jobs.kinds import JobKind
from sfa.tracks.audio import NotAudio, probe
from sfa.tracks.files import original_path, promote, temp_path
from sfa.tracks.store import set_track_file

MIB = 1 << 20
# The share of the progress bar the transfer takes; decoding and moving the file take the rest.
TRANSFER_SHARE = 0.9


def perform(ctx: JobContext) -> dict[str, Any]:
    args = ctx.job.args
    data_dir, track_id = Path(args["data_dir"]), int(args["track_id"])
    source = Source(args["url"], args.get("quality", DEFAULT_QUALITY), args.get("spotify") or {})
    limits = Limits(int(args["max_bytes"]), float(args["timeout_s"]))
    transfer = Transfer(lambda share, message: ctx.report(share * TRANSFER_SHARE, message), ctx.cancelled)
    temp = temp_path(data_dir, ctx.job.job_id)
    try:
        backend, fetched = _fetch(backends_for(source.url, args), source, temp, limits, transfer)
        ctx.report(TRANSFER_SHARE, "checking the audio")
        try:
            info = probe(temp)
        except NotAudio as exc:
            raise DownloadRejected(str(exc)) from None
        relative = original_path(track_id, info.extension)
        promote(temp, data_dir, relative)
    finally:
        temp.unlink(missing_ok=True)
    bitrate = fetched.bitrate_kbps or round(fetched.size * 8 / info.duration_s / 1000, 1)
    return {"output_path": relative, "file_size": fetched.size, "format": info.extension, "duration": info.duration_s,
            "sample_rate": info.sample_rate, "channels": info.channels, "backend": backend.name,
            "quality": source.quality, "codec": fetched.codec or info.extension, "bitrate_kbps": bitrate,
            "source_url": fetched.origin}


def _fetch(chosen: list[Downloader], source: Source, temp: Path, limits: Limits,
           transfer: Transfer) -> tuple[Downloader, Fetched]:
    refusals = []
    for backend in chosen:
        transfer.report(0.0, f"fetching with {backend.name}")
        try:
            return backend, backend.fetch(source, temp, limits, transfer)
        except Unsupported as exc:
            refusals.append(f"{backend.name}: {exc}")
            temp.unlink(missing_ok=True)
    raise DownloadRejected("; ".join(refusals))


def prepare(job: Any, config: Config) -> Mapping[str, Any]:
    """What the worker needs beyond the job's own arguments (kept out of the row: they are the server's)."""
    return {**job.args, "track_id": job.track_id, "data_dir": str(config.data_dir),
            "max_bytes": config.download_max_mb * MIB, "timeout_s": config.download_timeout_s,
            "downloaders": list(config.downloader), "resolver_search": config.resolver_search,
            "spotify_client_id": config.spotify_client_id, "spotify_client_secret": config.spotify_client_secret}


async def record(conn: Any, job: Any, config: Config) -> None:
    result = job.result
    if job.track_id is not None:
        await set_track_file(conn, job.track_id, path=result["output_path"], format=result["format"],
                             file_size=result["file_size"], duration_s=result["duration"],
                             sample_rate=result["sample_rate"], channels=result["channels"])


DOWNLOAD_KIND = JobKind(
    "download",
    queue="download",
    workers="workers_download",
    perform=perform,
    prepare=prepare,
    record=record,
    running_status="downloading",
)
