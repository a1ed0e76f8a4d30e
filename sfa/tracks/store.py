"""Track rows, their stems and their analysis, always read and written on behalf of one owner.

Every query that takes a ``user_id`` matches it, so another user's track is simply absent (a 404 upstream).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg
from pypika import Order, PostgreSQLQuery, Table
from pypika import analytics as an
from pypika.functions import Count, Now
from pypika.terms import Parameter, Star

from sfa.db.database import Database
from sfa.db.text import contains_pattern

tracks = Table("tracks")
stems = Table("stems")
analysis_results = Table("analysis_results")

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

# What a track's analysis summary shows of the full result.
SUMMARY_FIELDS = ("tempo", "key", "energy", "spectral_centroid", "spectral_rolloff", "zero_crossing_rate")


@dataclass(frozen=True, slots=True)
class Track:
    id: int
    user_id: int
    title: str
    artist: str | None
    source: str
    source_url: str | None
    path: str | None
    format: str | None
    file_size: int | None
    duration_s: float | None
    sample_rate: int | None
    channels: int | None
    bpm: float | None
    key: str | None
    tags: list[str]
    inserted_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Track:
        return cls(**{name: row[name] for name in COLUMNS})

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "artist": self.artist, "source": self.source,
            "source_url": self.source_url, "format": self.format, "file_size": self.file_size,
            "duration": self.duration_s, "sample_rate": self.sample_rate, "channels": self.channels,
            "bpm": self.bpm, "key": self.key, "tags": list(self.tags),
            "file_url": None if self.path is None else f"/files/{self.path}",
            "inserted_at": self.inserted_at.isoformat(), "updated_at": self.updated_at.isoformat(),
        }


COLUMNS = tuple(f.name for f in fields(Track))


@dataclass(frozen=True, slots=True)
class Stem:
    id: int
    track_id: int
    name: str
    model: str | None
    path: str
    file_size: int | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "track_id": self.track_id, "name": self.name, "model": self.model,
                "file_size": self.file_size, "file_url": f"/files/{self.path}", "export_url": f"/export/stem/{self.id}"}


STEM_COLUMNS = tuple(f.name for f in fields(Stem))


def _owned(track_id: int = 1, user_id: int = 2):
    return (tracks.id == Parameter(f"${track_id}")) & (tracks.user_id == Parameter(f"${user_id}"))


SELECT_TRACK = str(PostgreSQLQuery.from_(tracks).select(*COLUMNS).where(_owned()))
DELETE_TRACK = str(PostgreSQLQuery.from_(tracks).delete().where(_owned()).returning(tracks.id))
SELECT_STEMS = str(PostgreSQLQuery.from_(stems).select(*STEM_COLUMNS)
                   .where(stems.track_id == Parameter("$1")).orderby(stems.id))
SELECT_STEM = str(PostgreSQLQuery.from_(stems).join(tracks).on(tracks.id == stems.track_id)
                  .select(*(stems.field(name) for name in STEM_COLUMNS))
                  .where((stems.id == Parameter("$1")) & (tracks.user_id == Parameter("$2"))))
SELECT_ANALYSIS = str(PostgreSQLQuery.from_(analysis_results).select(analysis_results.result, analysis_results.job_id,
                                                                      analysis_results.inserted_at)
                      .where(analysis_results.track_id == Parameter("$1"))
                      .orderby(analysis_results.id, order=Order.desc).limit(1))
# The newest result of each of the owner's tracks: DISTINCT ON keeps the first row per track in this order.
SELECT_LATEST_ANALYSES = str(PostgreSQLQuery.from_(analysis_results).join(tracks)
                             .on(tracks.id == analysis_results.track_id)
                             .distinct_on(analysis_results.track_id)
                             .select(analysis_results.track_id, analysis_results.result)
                             .where(tracks.user_id == Parameter("$1"))
                             .orderby(analysis_results.track_id).orderby(analysis_results.id, order=Order.desc))
SET_FILE = str(PostgreSQLQuery.update(tracks)
               .set(tracks.path, Parameter("$2")).set(tracks.format, Parameter("$3"))
               .set(tracks.file_size, Parameter("$4")).set(tracks.duration_s, Parameter("$5"))
               .set(tracks.sample_rate, Parameter("$6")).set(tracks.channels, Parameter("$7"))
               .set(tracks.updated_at, Now())
               .where(tracks.id == Parameter("$1")))
INSERT_TRACK = str(PostgreSQLQuery.into(tracks)
                   .columns(tracks.user_id, tracks.title, tracks.artist, tracks.source, tracks.source_url)
                   .insert(*(Parameter(f"${n}") for n in range(1, 6))).returning(*COLUMNS))


def _listing(searching: bool) -> PostgreSQLQuery:
    condition = tracks.user_id == Parameter("$1")
    if searching:
        condition &= tracks.title.ilike(Parameter("$2")) | tracks.artist.ilike(Parameter("$2"))
    return PostgreSQLQuery.from_(tracks).where(condition)


def _page(searching: bool) -> str:
    """One page, newest first, each row carrying the count of every match (the window is counted before
    LIMIT), so a listing is one round trip."""
    n = 2 if searching else 1
    return str(_listing(searching).select(*COLUMNS, an.Count(Star()).over().as_("total_count"))
               .orderby(tracks.id, order=Order.desc).limit(Parameter(f"${n + 1}")).offset(Parameter(f"${n + 2}")))


def _float_json(column: str) -> str:
    """A float column as ``json.dumps`` writes it. Below 1e15 PostgreSQL's shortest round-trip digits are
    Python's ``repr`` but for the ``.0`` of an integral value (``120`` for ``120.0``); from 1e15 on (no bpm or
    duration) it may spell the same number another way (``1e+15``). NaN and infinities, which only a hand
    edit could store, are ``null`` (Python would write ``NaN``, which no JSON parser reads)."""
    return (f"(CASE WHEN t.{column} = trunc(t.{column}) AND abs(t.{column}) < 1e15 THEN t.{column}::text || '.0' "
            f"WHEN t.{column} IN ('NaN', 'Infinity', '-Infinity') THEN 'null' ELSE t.{column}::text END)::json")


def _time_json(column: str) -> str:
    """A timestamptz as ``datetime.isoformat`` writes the UTC time asyncpg reads: six digits of microseconds,
    none when they are all zero (PostgreSQL's own JSON drops trailing zeros and follows the session's zone)."""
    return (f"replace(to_char(t.{column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
            f"'.000000+', '+')")


# Track.to_json, field for field, in SQL: row_to_json of these columns writes each text with JSON's escapes
# (but for non-ASCII characters, which ascii_json escapes as Python does) and the float columns as is.
_TRACK_JSON_COLUMNS = (
    "t.id, t.title, t.artist, t.source, t.source_url, t.format, t.file_size, "
    f"{_float_json('duration_s')} AS duration, t.sample_rate, t.channels, {_float_json('bpm')} AS bpm, t.key, "
    f"t.tags, '/files/' || t.path AS file_url, {_time_json('inserted_at')} AS inserted_at, "
    f"{_time_json('updated_at')} AS updated_at"
)


def _page_json(searching: bool) -> str:
    """One page as the JSON array of its tracks (UTF-8 bytes, so asyncpg hands them over undecoded) and the
    count of every match; both NULL past the end. pypika writes neither LATERAL nor an aggregate's ORDER BY."""
    return (f"SELECT convert_to('[' || string_agg(row_to_json(r)::text, ',' ORDER BY r.id DESC) || ']', 'UTF8'), "
            f"max(t.total_count) FROM ({_page(searching)}) AS t, LATERAL (SELECT {_TRACK_JSON_COLUMNS}) AS r")


# Built once per shape, not per request: building a pypika query costs more than running this one.
SELECT_PAGE = {searching: _page(searching) for searching in (False, True)}
SELECT_PAGE_JSON = {searching: _page_json(searching) for searching in (False, True)}
COUNT_MATCHES = {searching: str(_listing(searching).select(Count(Star()))) for searching in (False, True)}
# What json.dumps escapes with ensure_ascii and PostgreSQL writes as is: DEL and every non-ASCII character.
_UNESCAPED = re.compile("[\x7f-\U0010ffff]")


async def list_tracks(database: Database, user_id: int, *, q: str | None, offset: int,
                      limit: int) -> tuple[list[Track], int]:
    """The owner's tracks, newest first, whose title or artist contains ``q`` (case-insensitive)."""
    args: list[Any] = [user_id] + ([contains_pattern(q)] if q else [])
    async with database.pool.acquire() as conn:
        rows = await conn.fetch(SELECT_PAGE[bool(q)], *args, limit, offset)
        # A page past the end has no row to carry the count.
        total = rows[0]["total_count"] if rows else await conn.fetchval(COUNT_MATCHES[bool(q)], *args)
    return [Track.from_row(row) for row in rows], total


async def list_tracks_json(database: Database, user_id: int, *, q: str | None, offset: int,
                           limit: int) -> tuple[bytes, int]:
    """:func:`list_tracks` as the API shows it: the UTF-8 JSON array of the tracks' ``to_json``, exactly as
    :func:`sfa.web.envelope.dumps` writes it, made by PostgreSQL (turning rows into Python objects and those
    into JSON cost a REST listing more than everything else together), and the count of every match."""
    args: list[Any] = [user_id] + ([contains_pattern(q)] if q else [])
    async with database.pool.acquire() as conn:
        page, total = await conn.fetchrow(SELECT_PAGE_JSON[bool(q)], *args, limit, offset)
        if page is None:
            return b"[]", await conn.fetchval(COUNT_MATCHES[bool(q)], *args)
    return ascii_json(page), total


def ascii_json(text: bytes) -> bytes:
    """UTF-8 JSON with every character past ``~`` escaped, as ``json.dumps`` (``ensure_ascii``) writes it."""
    if text.isascii() and b"\x7f" not in text:
        return text
    return _UNESCAPED.sub(lambda match: json.dumps(match.group())[1:-1], text.decode()).encode()


async def create_track(conn: Connection, user_id: int, *, title: str, artist: str | None, source: str,
                       source_url: str | None = None) -> Track:
    return Track.from_row(await conn.fetchrow(INSERT_TRACK, user_id, title, artist, source, source_url))


async def set_track_file(conn: Connection, track_id: int, *, path: str, format: str, file_size: int,
                         duration_s: float, sample_rate: int, channels: int) -> None:
    await conn.execute(SET_FILE, track_id, path, format, file_size, duration_s, sample_rate, channels)


async def get_track(database: Database, user_id: int, track_id: int) -> Track | None:
    async with database.pool.acquire() as conn:
        return await fetch_track(conn, user_id, track_id)


async def fetch_track(conn: Connection, user_id: int, track_id: int) -> Track | None:
    row = await conn.fetchrow(SELECT_TRACK, track_id, user_id)
    return None if row is None else Track.from_row(row)


async def update_track(database: Database, user_id: int, track_id: int, changes: dict[str, Any]) -> Track | None:
    query = PostgreSQLQuery.update(tracks).set(tracks.updated_at, Now())
    for number, field in enumerate(changes, start=3):
        query = query.set(tracks.field(field), Parameter(f"${number}"))
    query = query.where(_owned()).returning(*COLUMNS)
    async with database.pool.acquire() as conn:
        row = await conn.fetchrow(str(query), track_id, user_id, *changes.values())
    return None if row is None else Track.from_row(row)


async def delete_track(database: Database, user_id: int, track_id: int) -> bool:
    """Delete the row (stems and analysis go with it); the caller removes the files."""
    async with database.pool.acquire() as conn:
        return await conn.fetchval(DELETE_TRACK, track_id, user_id) is not None


async def track_stems(database: Database, track_id: int) -> list[Stem]:
    async with database.pool.acquire() as conn:
        return [Stem(**dict(row)) for row in await conn.fetch(SELECT_STEMS, track_id)]


async def get_stem(database: Database, user_id: int, stem_id: int) -> Stem | None:
    async with database.pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_STEM, stem_id, user_id)
    return None if row is None else Stem(**dict(row))


async def latest_analysis(database: Database, track_id: int) -> dict[str, Any] | None:
    """The newest analysis result of the track: ``{"job_id", "inserted_at", "result"}``, or None."""
    async with database.pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_ANALYSIS, track_id)
    if row is None:
        return None
    return {"job_id": row["job_id"], "inserted_at": row["inserted_at"].isoformat(), "result": json.loads(row["result"])}


def analysis_summary(analysis: dict[str, Any] | None) -> dict[str, Any] | None:
    if analysis is None:
        return None
    result = analysis["result"]
    return {name: result.get(name) for name in SUMMARY_FIELDS} | {"job_id": analysis["job_id"],
                                                                    "analyzed_at": analysis["inserted_at"]}


async def latest_analyses(database: Database, user_id: int) -> dict[int, dict[str, Any]]:
    """The newest analysis result of each of the owner's analysed tracks, by track id."""
    async with database.pool.acquire() as conn:
        rows = await conn.fetch(SELECT_LATEST_ANALYSES, user_id)
    return {row["track_id"]: json.loads(row["result"]) for row in rows}
