"""Replies the Orchestrator gives without a language model: each intent answered from tool results alone.

Every fact in a reply is read from a tool's result (the stored row or analysis); a track without analysis
is said to be unanalysed, and a message no tool can answer gets a plain statement that open conversation
needs a provider.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sfa.agents import intents
from sfa.agents.intents import Intent, TrackRef
from sfa.agents.tools import Result, failed
from sfa.agents.workbench import Workbench

NEEDS_PROVIDER = (
    "Open conversation needs a language model provider, and none is available on this server. Without one I "
    "answer what my tools answer exactly: finding tracks (\"find tracks by Daft Punk\"), keys and tempos "
    "(\"what key is track 12 in\"), mixing suggestions (\"what mixes well after track 12\"), and starting "
    "jobs (\"analyse track 12\", \"separate the vocals of track 12\", \"import https://...\")."
)
WHICH_TRACK = "Which track do you mean? Name it by id (\"track 12\"), as \"my last import\", or quote its title."


def describe(track: dict[str, Any]) -> str:
    by = f" by {track['artist']}" if track.get("artist") else ""
    return f"track {track['id']} \"{track['title']}\"{by}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _listing(tracks: list[dict[str, Any]]) -> str:
    return "; ".join(describe(track) for track in tracks)


def _failure(result: Result) -> str:
    return f"I could not do that: {result['error']}."


async def resolve(ref: TrackRef | None, bench: Workbench) -> tuple[int | None, str | None]:
    """The id of the track ``ref`` names, or None and what to say instead."""
    if ref is None:
        return None, WHICH_TRACK
    if ref.id is not None:
        return ref.id, None
    if ref.newest:
        found = await bench.use("recent_tracks", limit=1)
        return (found["tracks"][0]["id"], None) if found["tracks"] else (None, "Your library has no tracks yet.")
    found = await bench.use("search_tracks", query=ref.words, limit=5)
    if found["total"] == 1:
        return found["tracks"][0]["id"], None
    if not found["tracks"]:
        return None, f"No track in your library matches \"{ref.words}\"."
    return None, f"Several tracks match \"{ref.words}\": {_listing(found['tracks'])}. Which one?"


async def _about_track(intent: Intent, bench: Workbench, tool: str) -> tuple[Result | None, str]:
    """The result of ``tool`` on the track the message names, or None and what to say instead."""
    track_id, instead = await resolve(intent.track, bench)
    if track_id is None:
        return None, instead
    found = await bench.use(tool, track_id=track_id)
    return (None, _failure(found)) if failed(found) else (found, "")


async def search(intent: Intent, bench: Workbench) -> str:
    if not intent.query:
        return "What should I look for? Give words of a title or an artist."
    found = await bench.use("search_tracks", query=intent.query, limit=10)
    if not found["tracks"]:
        return f"No track in your library matches \"{intent.query}\"."
    more = f" (showing {len(found['tracks'])})" if found["total"] > len(found["tracks"]) else ""
    return f"{found['total']} of your tracks match \"{intent.query}\"{more}: {_listing(found['tracks'])}."


async def recent(intent: Intent, bench: Workbench) -> str:
    found = await bench.use("recent_tracks", limit=10)
    if not found["tracks"]:
        return "Your library has no tracks yet."
    return f"Your library has {found['total']} tracks; the newest: {_listing(found['tracks'])}."


async def track(intent: Intent, bench: Workbench) -> str:
    found, instead = await _about_track(intent, bench, "get_track")
    if found is None:
        return instead
    facts = found["track"]
    parts = [_capital(describe(facts)) + "."]
    if facts["duration_s"]:
        minutes, seconds = divmod(round(facts["duration_s"]), 60)
        parts.append(f"It lasts {minutes}:{seconds:02d}.")
    if facts["key"] or facts["bpm"]:
        tempo = "unknown" if facts["bpm"] is None else f"{facts['bpm']:g} BPM"
        parts.append(f"Stored key {facts['key'] or 'unknown'}, tempo {tempo}.")
    parts.append(f"Stems: {', '.join(found['stems'])}." if found["stems"] else "It has no stems yet.")
    if not found["analysed"]:
        parts.append("It is unanalysed.")
    return " ".join(parts)


async def analysis(intent: Intent, bench: Workbench) -> str:
    found, instead = await _about_track(intent, bench, "get_analysis")
    if found is None:
        return instead
    name = _capital(describe(found["track"]))
    summary = found["analysis"]
    if summary is None:
        return f"{name} is unanalysed: I have no key or tempo for it. Ask me to analyse it."
    facts = [f"{label} {summary[field]:.4g}{unit}" if isinstance(summary[field], int | float)
             else f"{label} {summary[field]}" for field, label, unit in
             (("key", "key", ""), ("tempo", "tempo", " BPM"), ("energy", "energy", ""),
              ("spectral_centroid", "spectral centroid", " Hz")) if summary.get(field) is not None]
    return f"{name}: {', '.join(facts)} (from its stored analysis)." if facts else \
        f"{name} was analysed, but its analysis holds no key, tempo or energy."


async def mixing(intent: Intent, bench: Workbench) -> str:
    found, instead = await _about_track(intent, bench, "suggest_mixes")
    if found is None:
        return instead
    home = found["track"]
    head = (f"After {describe(home)} ({home['key']}, {home['camelot']}, {home['tempo']:g} BPM), compatible keys are "
            f"{', '.join(found['compatible_keys'])} within ±{found['tempo_window_pct']:g}% tempo")
    skipped = f" {found['unanalysed_tracks']} of your tracks are unanalysed and were not considered." \
        if found["unanalysed_tracks"] else ""
    if not found["suggestions"]:
        return f"{head}; none of your other tracks fits.{skipped}"
    ranked = "; ".join(f"{n}. {describe(s)} ({s['key']}, {s['camelot']}, {s['tempo']:g} BPM, "
                       f"{s['tempo_difference_pct']:g}% off)" for n, s in enumerate(found["suggestions"], start=1))
    return f"{head}. Best first: {ranked}.{skipped}"


async def start_job(intent: Intent, bench: Workbench) -> str:
    if intent.label == intents.IMPORT:
        result = await bench.use("import_url", url=intent.url)
        what = f"an import of {intent.url}"
    else:
        track_id, instead = await resolve(intent.track, bench)
        if track_id is None:
            return instead
        tool = "start_separation" if intent.label == intents.SEPARATE else "start_analysis"
        result = await bench.use(tool, track_id=track_id)
        what = f"{'a separation' if intent.label == intents.SEPARATE else 'an analysis'} of track {track_id}"
    if failed(result):
        return _failure(result)
    return f"Started {what}: job {result['job_id']} (track {result['track_id']}), status {result['status']}."


async def job(intent: Intent, bench: Workbench) -> str:
    found = await bench.use("job_status", job_id=intent.job_id)
    if failed(found):
        return _failure(found)
    error = f"; error: {found['error']}" if found["error"] else ""
    return f"Job {found['job_id']} ({found['job_type']}) is {found['status']}, {found['progress']}% done{error}."


async def open_conversation(intent: Intent, bench: Workbench) -> str:
    return NEEDS_PROVIDER


ANSWERS: dict[str, Callable[[Intent, Workbench], Awaitable[str]]] = {
    intents.SEARCH: search, intents.RECENT: recent, intents.TRACK: track, intents.ANALYSIS: analysis,
    intents.MIXING: mixing, intents.ANALYSE: start_job, intents.SEPARATE: start_job, intents.IMPORT: start_job,
    intents.JOB: job, intents.OPEN: open_conversation,
}


async def answer(intent: Intent, bench: Workbench) -> str:
    return await ANSWERS[intent.label](intent, bench)
