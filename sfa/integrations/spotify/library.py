"""Imported Spotify tracks in a user's library: one track row (plus its Spotify metadata) per Spotify id,
and a download job for each track that has no audio yet, all in the caller's transaction."""

from __future__ import annotations

from typing import Any

from pypika import PostgreSQLQuery, Table
from pypika.terms import Parameter

from sfa.integrations.downloader.job import DOWNLOAD_KIND
from sfa.jobs import enqueue
from sfa.tracks.store import create_track

spotify_tracks = Table("spotify_tracks")

# A per-user lock for the rest of the transaction: two imports of one album at once would otherwise both
# see the tracks missing and both insert them.
LOCK_USER = "SELECT pg_advisory_xact_lock(hashtext('spotify_import'), $1::int)"
# "= ANY($2)" binds the whole id list as one array parameter, which pypika's IN cannot.
SELECT_EXISTING = """
SELECT spotify_tracks.spotify_id, tracks.id, tracks.path FROM spotify_tracks
JOIN tracks ON tracks.id = spotify_tracks.track_id
WHERE spotify_tracks.user_id = $1 AND spotify_tracks.spotify_id = ANY($2::text[])
"""
INSERT_SPOTIFY_TRACK = str(PostgreSQLQuery.into(spotify_tracks)
                           .columns("track_id", "user_id", "spotify_id", "artists", "album", "duration_ms", "isrc",
                                    "artwork_url")
                           .insert(*(Parameter(f"${n}") for n in range(1, 9))))


def download_args(track: dict[str, Any], quality: str) -> dict[str, Any]:
    """What the download worker needs to find the track's audio (see ``sfa.integrations.downloader``)."""
    return {"url": track["url"], "quality": quality,
            "spotify": {key: track[key] for key in ("title", "artists", "album", "duration_ms", "isrc")}}


async def import_tracks(conn, user_id: int, found: list[dict[str, Any]], *, quality: str,
                        max_attempts: int) -> list[dict[str, Any]]:
    """Each Spotify track once (the user's existing track when there is one) with its download job id
    (None for a track whose audio is already there)."""
    await conn.execute(LOCK_USER, user_id)
    unique = list({track["spotify_id"]: track for track in found}.values())
    rows = await conn.fetch(SELECT_EXISTING, user_id, [track["spotify_id"] for track in unique])
    existing = {row["spotify_id"]: (row["id"], row["path"]) for row in rows}
    imported = []
    for track in unique:
        created = track["spotify_id"] not in existing
        if created:
            row = await create_track(conn, user_id, title=track["title"][:500] or track["spotify_id"],
                                     artist=", ".join(track["artists"])[:500] or None, source="spotify",
                                     source_url=track["url"])
            await conn.execute(INSERT_SPOTIFY_TRACK, row.id, user_id, track["spotify_id"], track["artists"],
                               track["album"], track["duration_ms"], track["isrc"], track["artwork_url"])
            track_id, path = row.id, None
        else:
            track_id, path = existing[track["spotify_id"]]
        job_id = None
        if path is None:
            job, _ = await enqueue(conn, DOWNLOAD_KIND, user_id=user_id, track_id=track_id,
                                   args=download_args(track, quality), max_attempts=max_attempts)
            job_id = job.id
        imported.append(track | {"track_id": track_id, "job_id": job_id, "created": created})
    return imported
