"""A multipart upload, streamed to a temp file under a size cap, decoded, and only then made a track."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from aiohttp import BodyPartReader, MultipartReader

from sfa.db.database import Database
from sfa.db.text import UNSTORABLE_MESSAGE, storable, without_unstorable
from sfa.tracks.audio import AudioInfo, NotAudio
from sfa.tracks.decoders import DecoderPool
from sfa.tracks.files import original_path, promote, temp_path
from sfa.tracks.metadata import MAX_TITLE
from sfa.tracks.store import Track, create_track, fetch_track, set_track_file

CHUNK = 1 << 20
MAX_TEXT_FIELD = 1024


class TooLarge(Exception):
    """The upload is larger than the cap."""


class BadUpload(ValueError):
    """The form is not what we take; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Upload:
    temp: Path
    size: int
    info: AudioInfo
    filename: str | None
    fields: dict[str, str]


async def receive(reader: MultipartReader, data_dir: Path, max_bytes: int, decoders: DecoderPool) -> Upload:
    """Read every part: ``file`` goes to disk, short text fields are kept; then ``decoders`` decode the file.
    The temp file is removed on error."""
    temp: Path | None = None
    size, filename, fields = 0, None, {}
    try:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise BadUpload("file", "nested multipart bodies are not accepted")
            if part.name == "file":
                if temp is not None:
                    raise BadUpload("file", "send exactly one file")
                temp, filename = temp_path(data_dir), part.filename
                size = await _save(part, temp, max_bytes)
            elif part.name:
                text = await part.read(decode=True)
                if len(text) > MAX_TEXT_FIELD:
                    raise BadUpload(part.name, f"must be at most {MAX_TEXT_FIELD} bytes")
                fields[part.name] = text.decode("utf-8", errors="replace")
                if not storable(fields[part.name]):
                    raise BadUpload(part.name, UNSTORABLE_MESSAGE)
        if temp is None:
            raise BadUpload("file", "is required (a multipart field named file)")
        try:
            info = await decoders.probe(temp)
        except NotAudio as exc:
            raise BadUpload("file", str(exc)) from None
    except BaseException:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise
    return Upload(temp, size, info, filename, fields)


async def _save(part: BodyPartReader, temp: Path, max_bytes: int) -> int:
    size = 0
    handle = await asyncio.to_thread(temp.open, "wb")
    with contextlib.closing(handle):
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge()
            await asyncio.to_thread(handle.write, chunk)
    return size


async def save_track(database: Database, data_dir: Path, user_id: int, upload: Upload) -> Track:
    """The track row and its file, together: the rename happens inside the row's transaction."""
    title = upload.fields.get("title", "").strip() or _title_from(upload.filename)
    artist = upload.fields.get("artist", "").strip() or None
    async with database.pool.acquire() as conn, conn.transaction():
        track = await create_track(conn, user_id, title=title, artist=artist, source="upload")
        relative = original_path(track.id, upload.info.extension)
        await asyncio.to_thread(promote, upload.temp, data_dir, relative)
        await set_track_file(conn, track.id, path=relative, format=upload.info.extension, file_size=upload.size,
                             duration_s=upload.info.duration_s, sample_rate=upload.info.sample_rate,
                             channels=upload.info.channels)
        return await fetch_track(conn, user_id, track.id)


def _title_from(filename: str | None) -> str:
    # aiohttp's client (like some others) percent-encodes the filename in Content-Disposition.
    stem = PurePosixPath(without_unstorable(unquote(filename or "")).replace("\\", "/")).stem.strip()
    return stem[:MAX_TITLE] or "Untitled"
