"""``/import``: a track from a Spotify link, from a page or audio URL, or from a file (uploaded by the
``Upload`` hook to ``POST /api/tracks``, whose progress the browser shows as the bytes go)."""

from __future__ import annotations

from typing import Any

from sfa.ids import parse_id
from sfa.integrations.downloader import DEFAULT_QUALITY
from sfa.integrations.spotify import InvalidSpotifyUrl, SpotifyError, parse_spotify_url
from sfa.integrations.spotify.library import import_tracks
from sfa.web.api.download import MAX_URL, start_download, web_url
from sfa.web.keys import CONFIG, DATABASE, PUBSUB, SPOTIFY
from sfa.web.live import event
from sfa.web.user_events import announce_library_change
from sfa.web.views.shell import AppView, template

TEMPLATE = template("import.html")


def link_problem(url: str) -> str:
    if not url:
        return "Enter a link."
    if url.startswith(("spotify:", "https://open.spotify.com/")):
        try:
            parse_spotify_url(url)
        except InvalidSpotifyUrl as exc:
            return f"Not a Spotify link we can read: {exc}"
        return ""
    if len(url) > MAX_URL or not web_url(url):
        return "Must be an http or https URL."
    return ""


class ImportView(AppView):
    template = TEMPLATE

    async def mount(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        await super().mount(params, session)
        self.assign(page_title="Import", url="", error="")

    @event("validate")
    async def validate(self, value: dict[str, Any]) -> None:
        url = str(value.get("url", "")).strip()
        # Only complain about a field the user has left or typed a whole link into.
        self.assign(url=url, error=link_problem(url) if "://" in url or url.startswith("spotify:") else "")

    @event("import")
    async def start(self, value: dict[str, Any]) -> None:
        url = str(value.get("url", "")).strip()
        error = link_problem(url)
        self.assign(url=url, error=error)
        if error:
            return
        if url.startswith(("spotify:", "https://open.spotify.com/")):
            await self._spotify(url)
            return
        job = await start_download(self.app, self.user.id, url, DEFAULT_QUALITY)
        self.put_flash("info", "Download started.")
        self.push_navigate(f"/tracks/{job.track_id}")

    async def _spotify(self, url: str) -> None:
        spotify = self.app[SPOTIFY]
        if not spotify.configured:
            self.assign(error="Spotify is not configured on this server.")
            return
        try:
            api = await spotify.api_for(self.user.id)
            found = await api.fetch(parse_spotify_url(url))
        except SpotifyError as exc:
            self.assign(error=f"Spotify: {exc}")
            return
        async with self.app[DATABASE].pool.acquire() as conn, conn.transaction():
            imported = await import_tracks(conn, self.user.id, found.get("tracks") or [found["track"]],
                                           quality=DEFAULT_QUALITY, max_attempts=self.app[CONFIG].queue_max_attempts)
        await announce_library_change(self.app[PUBSUB], self.user.id, track_id=None)
        self.put_flash("info", f"Importing {len(imported)} track(s) from Spotify.")
        self.push_navigate("/")

    @event("uploaded")
    async def uploaded(self, value: dict[str, Any]) -> None:
        track_id = parse_id(value.get("track_id"))
        if track_id is not None:
            self.put_flash("info", f"Uploaded {value.get('title', 'the track')}.")
            self.push_navigate(f"/tracks/{track_id}")
