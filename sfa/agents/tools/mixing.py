"""The harmonic-mixing tool: the user's tracks that blend after a given one, from stored keys and tempos."""

from __future__ import annotations

import asyncio
from typing import Any

from sfa.agents.camelot import Candidate, camelot, compatible_codes, rank_mixes
from sfa.agents.tools.base import Result, Tool, ToolContext, track_id_parameter
from sfa.agents.tools.library import brief, owned_track
from sfa.tracks import store
from sfa.tracks.store import Track
from sfa.web.errors import APIError
from sfa.web.keys import DATABASE

DEFAULT_WINDOW_PCT = 6.0
# The library a suggestion looks through: the newest tracks, enough for a DJ's crate.
MAX_CANDIDATES = 2000


class Unanalysed(APIError):
    status = 422

    def __init__(self, track: Track) -> None:
        super().__init__(f"track {track.id} ({track.title}) is unanalysed: it has no stored key and tempo",
                         code="UNANALYSED")


def tempo_and_key(track: Track, result: dict[str, Any] | None) -> tuple[float | None, str | None]:
    """The track's stored bpm and key (set by the user or filled by its analysis), else its analysis's."""
    result = result or {}
    tempo = track.bpm if track.bpm is not None else result.get("tempo")
    key = track.key if track.key is not None else result.get("key")
    return (tempo if isinstance(tempo, int | float) and tempo > 0 else None), (key if camelot(key) else None)


async def suggest_mixes(context: ToolContext, track_id: int, tempo_window_pct: float = DEFAULT_WINDOW_PCT,
                        limit: int = 10) -> Result:
    track, result = await owned_track(context, track_id)
    tempo, key = tempo_and_key(track, result)
    if tempo is None or key is None:
        raise Unanalysed(track)
    database = context.app[DATABASE]
    (library, _), analyses = await asyncio.gather(
        store.list_tracks(database, context.user.id, q=None, offset=0, limit=MAX_CANDIDATES),
        store.latest_analyses(database, context.user.id))
    by_id = {other.id: other for other in library}
    candidates, unanalysed = [], 0
    for other in library:
        if other.id == track.id:
            continue
        other_tempo, other_key = tempo_and_key(other, analyses.get(other.id))
        if other_tempo is None or other_key is None:
            unanalysed += 1
        else:
            candidates.append(Candidate(other.id, other_tempo, other_key))
    ranked = rank_mixes(tempo, key, candidates, tempo_window_pct=tempo_window_pct)[:limit]
    home = camelot(key)
    return {"track": brief(track) | {"tempo": tempo, "key": key, "camelot": str(home)},
            "compatible_keys": [str(code) for code in compatible_codes(home)],
            "tempo_window_pct": tempo_window_pct, "unanalysed_tracks": unanalysed,
            "suggestions": [brief(by_id[s.track_id]) | {"tempo": s.tempo, "key": s.key, "camelot": s.camelot,
                                                         "tempo_difference_pct": s.tempo_difference_pct,
                                                         "same_key": s.key_distance == 0} for s in ranked]}


MIXING_TOOLS = (
    Tool("suggest_mixes", "The user's tracks that mix well after a given track: keys compatible on the Camelot "
         "wheel (same key, a neighbour, the relative major or minor) within a tempo window, best first.",
         {"track_id": track_id_parameter(),
          "tempo_window_pct": {"type": "number", "minimum": 0, "maximum": 50,
                               "description": "largest tempo difference, in percent (default 6)"},
          "limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "most suggestions"}},
         ("track_id",), suggest_mixes),
)
