"""A thin client of the Spotify Web API over aiohttp: the calls SFA needs, Spotify's rate limit and token
expiry handled where they happen, and catalogue metadata cached briefly.

Every call goes through :meth:`SpotifyApi._get`: a 429 waits out ``Retry-After`` (up to a bound) and tries
again, a 401 asks the token source for a fresh token once, a 5xx or a dropped connection is retried with
exponential backoff, a 404 is :class:`SpotifyNotFound`, and anything else is :class:`SpotifyError`.
Albums and playlists are paged through completely, so a 1,000-item playlist is ten pages plus the first.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from sfa.integrations.spotify import metadata
from sfa.integrations.spotify.errors import SpotifyError, SpotifyNotFound, SpotifyUnauthorized
from sfa.integrations.spotify.urls import SpotifyRef

# ``source(force_refresh)`` -> a bearer token; force_refresh after Spotify rejected the last one.
TokenSource = Callable[[bool], Awaitable[str]]

TIMEOUT = aiohttp.ClientTimeout(total=20)
ATTEMPTS = 4
BACKOFF_S = 0.25
MAX_RETRY_AFTER_S = 30.0
PLAYLIST_PAGE, ALBUM_PAGE, TRACKS_BATCH = 100, 50, 50
MAX_ITEMS = 10_000


class MetadataCache:
    """Catalogue objects (tracks, albums) by key for ``ttl_s``, at most ``size`` of them, oldest out first.
    The catalogue is the same for every user, so one cache serves them all."""

    def __init__(self, ttl_s: float = 600.0, size: int = 5000) -> None:
        self.ttl_s, self.size = ttl_s, size
        self._items: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()

    def get(self, key: tuple[str, str]) -> Any | None:
        found = self._items.get(key)
        if found is None or found[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return found[1]

    def put(self, key: tuple[str, str], value: Any) -> None:
        self._items[key] = (time.monotonic() + self.ttl_s, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class SpotifyApi:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: TokenSource,
                 cache: MetadataCache) -> None:
        self._session, self.base_url, self._token, self._cache = session, base_url.rstrip("/"), token, cache

    async def search(self, query: str, type_: str, *, limit: int, offset: int) -> tuple[list[dict], int]:
        """One page of ``type_`` results and Spotify's total count."""
        answer = await self._get("/search", {"q": query, "type": type_, "limit": limit, "offset": offset})
        page = answer.get(f"{type_}s") or {}
        shape = metadata.SEARCH_TYPES[type_]
        return [shape(item) for item in page.get("items", []) if item], int(page.get("total", 0))

    async def track(self, spotify_id: str) -> dict[str, Any]:
        cached = self._cache.get(("track", spotify_id))
        if cached is None:
            cached = metadata.track(await self._get(f"/tracks/{spotify_id}"))
            self._cache.put(("track", spotify_id), cached)
        return cached

    async def album(self, spotify_id: str) -> dict[str, Any]:
        """The album and all its tracks, as full tracks (with ISRC)."""
        cached = self._cache.get(("album", spotify_id))
        if cached is not None:
            return cached
        answer = await self._get(f"/albums/{spotify_id}")
        items = await self._all_items(answer.get("tracks") or {}, f"/albums/{spotify_id}/tracks", ALBUM_PAGE)
        ids = [item["id"] for item in items if item and item.get("id")]
        await self._fill_tracks(ids)
        album = metadata.album(answer) | {"tracks": [self._cache.get(("track", i)) or metadata.track(item, answer)
                                                     for i, item in zip(ids, items, strict=True)]}
        self._cache.put(("album", spotify_id), album)
        return album

    async def playlist(self, spotify_id: str) -> dict[str, Any]:
        """The playlist and every track on it (episodes and local files left out)."""
        answer = await self._get(f"/playlists/{spotify_id}")
        items = await self._all_items(answer.get("tracks") or {}, f"/playlists/{spotify_id}/tracks", PLAYLIST_PAGE)
        tracks = [metadata.track(entry["track"]) for entry in items
                  if entry and entry.get("track") and entry["track"].get("type", "track") == "track"
                  and not entry.get("is_local") and entry["track"].get("id")]
        for track in tracks:
            self._cache.put(("track", track["spotify_id"]), track)
        return metadata.playlist(answer) | {"tracks": tracks}

    async def fetch(self, ref: SpotifyRef) -> dict[str, Any]:
        """What ``/api/spotify/fetch`` answers: ``type`` and ``track``, or the album or playlist with ``tracks``."""
        if ref.type == "track":
            return {"type": "track", "track": await self.track(ref.id)}
        found = await (self.album(ref.id) if ref.type == "album" else self.playlist(ref.id))
        return {"type": ref.type, ref.type: {k: v for k, v in found.items() if k != "tracks"},
                "tracks": found["tracks"]}

    async def me(self) -> dict[str, Any]:
        return await self._get("/me")

    async def _fill_tracks(self, ids: list[str]) -> None:
        missing = [i for i in dict.fromkeys(ids) if self._cache.get(("track", i)) is None]
        for start in range(0, len(missing), TRACKS_BATCH):
            answer = await self._get("/tracks", {"ids": ",".join(missing[start:start + TRACKS_BATCH])})
            for item in answer.get("tracks", []):
                if item:
                    self._cache.put(("track", item["id"]), metadata.track(item))

    async def _all_items(self, first: dict[str, Any], path: str, page_size: int) -> list[dict]:
        """Every item of a paging object: the first page came with its parent, the rest by offset."""
        items, total = list(first.get("items", [])), min(int(first.get("total", 0)), MAX_ITEMS)
        while len(items) < total:
            page = await self._get(path, {"offset": len(items), "limit": page_size})
            if not page.get("items"):
                break
            items.extend(page["items"])
        return items

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        refreshed = False
        for attempt in range(1, ATTEMPTS + 1):
            token = await self._token(False)
            try:
                async with self._session.get(self.base_url + path, params=params, timeout=TIMEOUT,
                                             headers={"Authorization": f"Bearer {token}",
                                                      "Accept": "application/json"}) as response:
                    status, retry_after = response.status, response.headers.get("Retry-After")
                    body = await response.json(content_type=None) if response.content_length != 0 else {}
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                if attempt == ATTEMPTS:
                    raise SpotifyError(f"Spotify could not be reached: {exc!r}") from None
                await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))
                continue
            if status == 200:
                return body if isinstance(body, dict) else {}
            message = _message(body, status)
            if status == 401 and not refreshed:
                refreshed = True
                await self._token(True)
                continue
            if status == 401:
                raise SpotifyUnauthorized(f"Spotify rejected the token: {message}", status=401)
            if status == 404:
                raise SpotifyNotFound(f"Spotify has no such item: {message}", status=404)
            if status == 429 or status >= 500:
                delay = _retry_after(retry_after) if status == 429 else BACKOFF_S * 2 ** (attempt - 1)
                if attempt == ATTEMPTS or delay > MAX_RETRY_AFTER_S:
                    raise SpotifyError(f"Spotify answered {status}: {message}", status=status)
                await asyncio.sleep(delay)
                continue
            raise SpotifyError(f"Spotify answered {status}: {message}", status=status)
        raise SpotifyError(f"Spotify's token was rejected on every one of {ATTEMPTS} attempts", status=401)


def _retry_after(header: str | None) -> float:
    try:
        return max(0.0, float(header or 1))
    except ValueError:
        return 1.0


def _message(body: Any, status: int) -> str:
    """Spotify's error object is ``{"error": {"status", "message"}}``."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", status))
    return str(error or status)
