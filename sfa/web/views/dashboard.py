"""``/``: the user's tracks, each with its latest job's status and progress, live.

The view subscribes to ``jobs:<id>`` for every job it shows that has not finished (and for each it starts),
so a progress tick re-renders one row: the diff holds that row's changed holes alone.
"""

from __future__ import annotations

from typing import Any

from sfa.analysis.job import ANALYSIS_KIND
from sfa.dsp import FEATURE_GROUPS
from sfa.ids import parse_id
from sfa.jobs import get_job
from sfa.pubsub import Broadcast
from sfa.web.api.jobs import cancel_job
from sfa.web.api.track_jobs import start_track_job
from sfa.web.errors import APIError
from sfa.web.keys import DATABASE
from sfa.web.live import event
from sfa.web.user_events import LIBRARY_CHANGED
from sfa.web.views.library import JobView, Row, library
from sfa.web.views.shell import AppView, template

TEMPLATE = template("dashboard.html")


class DashboardView(AppView):
    template = TEMPLATE

    async def mount(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        await super().mount(params, session)
        self.following: set[int] = set()
        self.assign(page_title="Your tracks", q="")
        await self._load()

    async def _load(self) -> None:
        rows = await library(self.app[DATABASE], self.user.id, q=self.assigns["q"] or None)
        self.assign(rows=rows)
        for row in rows:
            if row.job is not None and not row.job.finished:
                self._follow(row.job.id)

    def _follow(self, job_id: int) -> None:
        if self.connected and job_id not in self.following:
            self.following.add(job_id)
            self.subscribe(f"jobs:{job_id}")

    @event("filter")
    async def filter(self, value: dict[str, Any]) -> None:
        """Each key typed in the search box (``phx-keyup``, debounced by the client), or its submit."""
        q = str(value.get("value", "")).strip()[:200]
        if q != self.assigns["q"]:
            self.assign(q=q)
            await self._load()

    @event("analyze")
    async def analyze(self, value: dict[str, Any]) -> None:
        track_id = parse_id(value.get("track"))
        try:
            job = None if track_id is None else await start_track_job(
                self.app, self.user.id, track_id, ANALYSIS_KIND, {"features": list(FEATURE_GROUPS)})
        except APIError:
            job = None
        if job is None:
            self.put_flash("error", "That track cannot be analysed now.")
            return
        self._follow(job.id)
        self._replace_job(job.track_id, JobView.of(job))

    @event("cancel")
    async def cancel(self, value: dict[str, Any]) -> None:
        """Cancel a job that has not started; its ``jobs:<id>`` event then updates the row."""
        job_id = parse_id(value.get("job"))
        if job_id is None or await cancel_job(self.app[DATABASE], self.user.id, job_id) is None:
            self.put_flash("error", "Only a job that has not started can be cancelled.")

    async def handle_info(self, message: Broadcast) -> None:
        if message.event == LIBRARY_CHANGED:
            await self._load()
            return
        if not message.topic.startswith("jobs:"):
            await super().handle_info(message)
            return
        payload = message.payload if isinstance(message.payload, dict) else {}
        job_id = parse_id(payload.get("job_id"))
        row = next((row for row in self.assigns["rows"] if row.job is not None and row.job.id == job_id), None)
        if row is None:
            return
        if message.event == "job:progress" and payload.get("status") == row.job.status:
            self._replace_job(row.track.id, row.job.with_progress(payload))
            return
        # A transition (started, retried, completed, failed): the record says which attempt and why.
        job = await get_job(self.app[DATABASE], self.user.id, job_id)
        if job is not None:
            if job.status == "completed":
                await self._load()
            else:
                self._replace_job(row.track.id, JobView.of(job))

    def _replace_job(self, track_id: int, job: JobView) -> None:
        self.assign(rows=[Row(row.track, job) if row.track.id == track_id else row for row in self.assigns["rows"]])
