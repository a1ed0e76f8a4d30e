"""Tools that read the user's library: search, the newest tracks, one track, its stored analysis."""

from __future__ import annotations

from typing import Any

from sfa.agents.tools.base import Result, Tool, ToolContext, track_id_parameter
from sfa.tracks import store
from sfa.tracks.store import Track
from sfa.web.errors import NotFound
from sfa.web.keys import DATABASE

LIMIT = {"type": "integer", "minimum": 1, "maximum": 50, "description": "most tracks to return"}


def brief(track: Track) -> dict[str, Any]:
    """What a listing says of a track: its stored row only (``bpm`` and ``key`` may be unset)."""
    return {"id": track.id, "title": track.title, "artist": track.artist, "bpm": track.bpm, "key": track.key}


async def owned_track(context: ToolContext, track_id: int) -> tuple[Track, dict[str, Any] | None]:
    """The caller's track and its newest analysis result (None: unanalysed); anyone else's is not found."""
    database = context.app[DATABASE]
    track = await store.get_track(database, context.user.id, track_id)
    if track is None:
        raise NotFound(f"you have no track {track_id}")
    analysis = await store.latest_analysis(database, track.id)
    return track, None if analysis is None else analysis["result"]


async def search_tracks(context: ToolContext, query: str, limit: int = 10) -> Result:
    found, total = await store.list_tracks(context.app[DATABASE], context.user.id, q=query.strip() or None,
                                           offset=0, limit=limit)
    return {"query": query, "total": total, "tracks": [brief(track) for track in found]}


async def recent_tracks(context: ToolContext, limit: int = 5) -> Result:
    found, total = await store.list_tracks(context.app[DATABASE], context.user.id, q=None, offset=0, limit=limit)
    return {"total": total, "tracks": [brief(track) for track in found]}


async def get_track(context: ToolContext, track_id: int) -> Result:
    track, result = await owned_track(context, track_id)
    stems = await store.track_stems(context.app[DATABASE], track.id)
    return {"track": brief(track) | {"duration_s": track.duration_s, "source": track.source,
                                     "has_audio": track.path is not None, "tags": list(track.tags)},
            "stems": sorted({stem.name for stem in stems}), "analysed": result is not None}


async def get_analysis(context: ToolContext, track_id: int) -> Result:
    track, result = await owned_track(context, track_id)
    summary = None if result is None else {name: result.get(name) for name in store.SUMMARY_FIELDS}
    return {"track": brief(track), "analysed": result is not None, "analysis": summary}


LIBRARY_TOOLS = (
    Tool("search_tracks", "Find the user's tracks whose title or artist contains the query (case-insensitive).",
         {"query": {"type": "string", "description": "words of a title or an artist"}, "limit": LIMIT},
         ("query",), search_tracks),
    Tool("recent_tracks", "The user's most recently added tracks, newest first.", {"limit": LIMIT}, (),
         recent_tracks),
    Tool("get_track", "One of the user's tracks: title, artist, stored bpm and key, duration, stems, whether "
         "it was analysed.", {"track_id": track_id_parameter()}, ("track_id",), get_track),
)
ANALYSIS_TOOLS = (
    Tool("get_analysis", "The stored analysis of one of the user's tracks (tempo, key, energy, spectral "
         "centroid, rolloff, zero-crossing rate); analysed is false when it has none.",
         {"track_id": track_id_parameter()}, ("track_id",), get_analysis),
)

__all__ = ["ANALYSIS_TOOLS", "LIBRARY_TOOLS", "brief", "owned_track"]
