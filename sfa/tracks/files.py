"""Where a track's files live under ``SFA_DATA_DIR``, and how they get there.

Every path is built from ids: ``tracks/<track_id>/original.<ext>`` and ``tracks/<track_id>/stems/...``.
A file is written under ``tmp/`` and renamed into place only once complete, so a crash never leaves a
half-written file at a final name. Paths stored in the database are relative to the data dir.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath

from sfa.ids import parse_id

TRACKS = "tracks"
TMP = "tmp"


def track_dir(data_dir: Path, track_id: int) -> Path:
    return data_dir / TRACKS / str(track_id)


def original_path(track_id: int, extension: str) -> str:
    """The relative path of a track's own audio."""
    return f"{TRACKS}/{track_id}/original.{extension}"


def temp_path(data_dir: Path, job_id: int | None = None) -> Path:
    """A fresh name under ``tmp/`` (the same file system as the final place, so the rename is atomic).

    A job's temp files carry its id, so that when its node dies mid-write the node that rescues the job
    removes what the dead attempt left (:func:`remove_job_temps`).
    """
    folder = data_dir / TMP
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{'' if job_id is None else f'job-{job_id}-'}{uuid.uuid4().hex}.part"


def remove_job_temps(data_dir: Path, job_id: int) -> int:
    """Remove the temp files of ``job_id``'s earlier attempts; how many there were."""
    removed = 0
    for temp in (data_dir / TMP).glob(f"job-{job_id}-*.part"):
        temp.unlink(missing_ok=True)
        removed += 1
    return removed


def promote(temp: Path, data_dir: Path, relative: str) -> Path:
    """Flush ``temp`` to disk and rename it to ``relative``; the file appears complete or not at all."""
    final = data_dir / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    with temp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, final)
    return final


def remove_track_files(data_dir: Path, track_id: int) -> None:
    shutil.rmtree(track_dir(data_dir, track_id), ignore_errors=True)


def owned_file(data_dir: Path, relative: str) -> tuple[int, Path] | None:
    """``(track_id, absolute path)`` for a relative path naming a file inside one track's folder, else None.

    The path is resolved (symlinks included) and must stay inside that track's folder, so ``..`` or a
    link can never reach another track or leave the data dir.
    """
    parts = PurePosixPath(relative).parts
    track_id = parse_id(parts[1]) if len(parts) >= 3 and parts[0] == TRACKS else None
    if track_id is None:
        return None
    folder = track_dir(data_dir, track_id).resolve()
    target = (data_dir / relative).resolve()
    if not target.is_relative_to(folder) or target == folder or not target.is_file():
        return None
    return track_id, target
