"""``/tracks/<id>``: one of the user's tracks: its jobs live, analysis and separation to start, stem players
(solo, mute, download) and the stored analysis as numbers and plots. Another user's track is a 404 page."""

from __future__ import annotations

import itertools
import json
from typing import Any

from sfa.accounts.roles import at_least
from sfa.analysis.job import ANALYSIS_KIND
from sfa.dsp import FEATURE_GROUPS
from sfa.ids import parse_id
from sfa.jobs import JobKind
from sfa.pubsub import Broadcast
from sfa.separation import DEFAULT_MODEL, MODELS
from sfa.separation.job import PROCESSING_KIND
from sfa.tracks import store
from sfa.web.api.track_jobs import start_track_job
from sfa.web.errors import APIError
from sfa.web.keys import DATABASE
from sfa.web.live import NotFound, event
from sfa.web.views.library import JobView, latest_jobs
from sfa.web.views.shell import AppView, template

PITCH_CLASSES = ["C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B"]

TEMPLATE = template("track.html")


def series(analysis: dict[str, Any] | None) -> dict[str, str]:
    """The plots' data as JSON attributes: chroma over time (its mean for analyses from before the curve),
    MFCC means, the energy and spectral centroid curves, tempo from beat intervals, chord confidence per beat
    (analyses from before the curves have none)."""
    result = analysis or {}
    features = result.get("features") or {}
    beats = [float(b) for b in result.get("beats") or []]
    intervals = [(b, 60.0 / (b - a)) for a, b in itertools.pairwise(beats) if b > a]
    chords = result.get("chords") or []
    energy, centroid = result.get("energy_curve") or {}, result.get("centroid_curve") or {}
    return {
        "energy_x": json.dumps(_times(energy)),
        "energy_series": json.dumps([{"label": "RMS", "values": energy.get("values", [])}]),
        "centroid_x": json.dumps(_times(centroid)),
        "centroid_series": json.dumps([{"label": "Hz", "values": centroid.get("values", [])}]),
        "chroma": json.dumps((result.get("chroma_curve") or {}).get("values") or features.get("chroma") or []),
        "mfcc": json.dumps(features.get("mfcc") or []),
        "tempo_x": json.dumps([round(t, 3) for t, _ in intervals]),
        "tempo_series": json.dumps([{"label": "BPM", "values": [round(v, 2) for _, v in intervals]}]),
        "chord_x": json.dumps([round(float(c["time"]), 3) for c in chords]),
        "chord_series": json.dumps([{"label": "confidence", "values": [c["confidence"] for c in chords]}]),
    }


def _times(curve: dict[str, Any]) -> list[float]:
    """The start of each bin of a stored curve, in seconds."""
    return [round(n * curve["hop_s"], 3) for n in range(len(curve.get("values", [])))]


class TrackView(AppView):
    template = TEMPLATE

    async def mount(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        await super().mount(params, session)
        track_id = parse_id(params["id"])
        if track_id is None:
            raise NotFound("track not found")
        self.track_id = track_id
        self.assign(models=list(MODELS.items()), default_model=DEFAULT_MODEL,
                    pitch_classes=json.dumps(PITCH_CLASSES))
        await self._load()
        self._can_separate()
        if self.connected and self.assigns["job"] is not None and not self.assigns["job"].finished:
            self.subscribe(f"jobs:{self.assigns['job'].id}")

    async def _load(self) -> None:
        database = self.app[DATABASE]
        track = await store.get_track(database, self.user.id, self.track_id)
        if track is None:
            raise NotFound("track not found")
        stems = await store.track_stems(database, track.id)
        analysis = await store.latest_analysis(database, track.id)
        jobs = await latest_jobs(database, self.user.id, [track.id])
        result = None if analysis is None else analysis["result"]
        self.assign(track=track, stems=stems, analysis=result, page_title=track.title,
                    job=JobView.of(jobs[track.id]) if track.id in jobs else None, **series(result))

    def _can_separate(self) -> None:
        self.assign(can_separate=at_least(self.assigns["current_user"].role, "pro"))

    async def user_changed(self) -> None:
        self._can_separate()

    @event("analyze")
    async def analyze(self, value: dict[str, Any]) -> None:
        await self._start(ANALYSIS_KIND, {"features": list(FEATURE_GROUPS)})

    @event("separate")
    async def separate(self, value: dict[str, Any]) -> None:
        model = value.get("model", DEFAULT_MODEL)
        if not self.assigns["can_separate"]:
            self.put_flash("error", "Separation needs the pro role.")
        elif model not in MODELS:
            self.put_flash("error", "Choose one of the listed models.")
        else:
            await self._start(PROCESSING_KIND, {"model": model, "engine": "local"})

    async def _start(self, kind: JobKind, args: dict[str, Any]) -> None:
        try:
            job = await start_track_job(self.app, self.user.id, self.track_id, kind, args)
        except APIError as exc:
            self.put_flash("error", str(exc))
            return
        self.subscribe(f"jobs:{job.id}")
        self.assign(job=JobView.of(job))

    async def handle_info(self, message: Broadcast) -> None:
        job = self.assigns["job"]
        payload = message.payload if isinstance(message.payload, dict) else {}
        if not message.topic.startswith("jobs:") or job is None or payload.get("job_id") != job.id:
            await super().handle_info(message)
            return
        if message.event == "job:progress" and payload.get("status") == job.status:
            self.assign(job=job.with_progress(payload))
        else:
            await self._load()
