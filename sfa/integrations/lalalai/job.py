"""The ``lalalai`` engine of a ``processing`` job: the track goes to lalal.ai and its stems come back.

The model the job names picks the stems: each of its stems lalal.ai separates is asked for by lalal.ai's
name (``drums`` is ``drum``, ``guitar`` is ``electric_guitar``), and the track without them (the
``back`` track) becomes ``other``, so a job reads the same whichever engine ran it. Each result is decoded
before it is moved into place. Cancelling the job cancels the lalal.ai task.
"""

from __future__ import annotations

import time
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from sfa.actors.performers import JobContext, PermanentError, TransientError
from sfa.integrations.lalalai.client import LalalaiClient, LalalaiError
from sfa.separation.registry import MODELS
from sfa.tracks.audio import NotAudio, probe
from sfa.tracks.files import promote, temp_path

LALALAI_STEMS = {"drums": "drum", "bass": "bass", "vocals": "vocals", "piano": "piano", "guitar": "electric_guitar"}
BACK = "other"
POLL_S = 1.0
UPLOADED, SPLIT = 0.1, 0.9
FINAL = ("success", "error", "cancelled", "server_error")


def wanted_stems(model: str) -> dict[str, str]:
    """lalal.ai stem name → our stem name, for the model's stems other than ``other``."""
    return {LALALAI_STEMS[stem]: stem for stem in MODELS[model].stems if stem in LALALAI_STEMS}


def separate_remotely(ctx: JobContext) -> dict[str, Any]:
    args = ctx.job.args
    client = LalalaiClient(args["lalalai_url"], args["lalalai_key"])
    data_dir, source = Path(args["data_dir"]), Path(args["data_dir"]) / args["path"]
    names = wanted_stems(args["model"])
    try:
        ctx.report(0.0, "uploading to lalal.ai")
        source_id = client.upload(source, PurePosixPath(args["path"]).name)
        task_id = client.split(source_id, list(names))
        ctx.report(UPLOADED, f"lalal.ai task {task_id} queued")
        state = _wait(ctx, client, task_id)
        if state["status"] != "success":
            raise PermanentError(f"lalal.ai task {task_id} ended {state['status']}: {state.get('error')}")
        stems = [_fetch(client, track, names, data_dir, args["folder"], ctx.job.job_id)
                 for track in state["result"]["tracks"]]
    except LalalaiError as exc:
        if 400 <= exc.status < 500 and exc.status != 429:
            raise PermanentError(str(exc)) from None
        raise TransientError(str(exc)) from None
    ctx.report(1.0, "stems written")
    return {"model": args["model"], "engine": "lalalai", "task_id": task_id, "stems": stems}


def _wait(ctx: JobContext, client: LalalaiClient, task_id: str) -> dict[str, Any]:
    while True:
        if ctx.cancelled():
            client.cancel([task_id])
            raise PermanentError(f"cancelled; lalal.ai task {task_id} cancelled too")
        state = client.check([task_id])[task_id]
        if state["status"] in FINAL:
            return state
        progress = int(state.get("progress", 0))
        ctx.report(UPLOADED + (SPLIT - UPLOADED) * progress / 100,
                   f"lalal.ai task {task_id}: {'queued' if progress == 0 else f'{progress}%'}")
        time.sleep(POLL_S)


def _fetch(client: LalalaiClient, track: dict[str, Any], names: dict[str, str], data_dir: Path,
           folder: str, job_id: int) -> dict[str, Any]:
    name = BACK if track["type"] == "back" else names.get(track["label"], track["label"])
    if not name.replace("_", "").isalnum():
        raise LalalaiError(f"lalal.ai returned a track labelled {track['label']!r}")
    temp = temp_path(data_dir, job_id)
    try:
        client.download(track["url"], temp)
        try:
            info = probe(temp)
        except NotAudio as exc:
            raise LalalaiError(f"lalal.ai's {name} track is not audio: {exc}") from None
        relative = f"{folder}/{name}.{info.extension}"
        final = promote(temp, data_dir, relative)
    finally:
        temp.unlink(missing_ok=True)
    return {"name": name, "path": relative, "file_size": final.stat().st_size,
            "source": urlsplit(track["url"]).path.rpartition("/")[2]}
