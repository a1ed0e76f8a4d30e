"""A local server speaking Spotify's accounts service and Web API wire formats.

Accounts: ``GET /authorize`` shows a consent page whose Agree and Cancel forms redirect to the client's
``redirect_uri`` with ``code`` and ``state`` or ``error=access_denied``; ``POST /api/token`` takes the
authorization code grant (checking ``redirect_uri`` and the PKCE S256 ``code_verifier``), refresh tokens and
client credentials, answering OAuth's JSON errors. Web API under ``/v1``: ``/me``, tracks (one and several),
albums and playlists with paging objects, and search, with Spotify's ``{"error": {"status", "message"}}``
bodies, 401 for an unknown or expired token, and failures a test queues (429 with ``Retry-After``, 5xx).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
_ids = itertools.count(1)
GRANT = web.RequestKey("grant", dict)


def spotify_id(prefix: str) -> str:
    """A fresh 22-character base-62 id, like Spotify's."""
    return f"{prefix}{next(_ids):021x}"


@dataclass
class Failure:
    path: str
    status: int
    times: int
    headers: dict[str, str]


@dataclass
class FakeSpotify:
    base_url: str = ""
    expires_in: int = 3600
    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)
    albums: dict[str, dict[str, Any]] = field(default_factory=dict)
    playlists: dict[str, dict[str, Any]] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    signed_in_as: str = ""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, str | None] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    # -- the catalogue and accounts a test sets up --------------------------------------------------------

    def add_profile(self, display_name: str, email: str | None) -> str:
        user = spotify_id("u")
        self.profiles[user] = {"id": user, "display_name": display_name, "email": email, "type": "user",
                               "country": "DE", "product": "premium", "uri": f"spotify:user:{user}",
                               "external_urls": {"spotify": f"https://open.spotify.com/user/{user}"}}
        self.signed_in_as = user
        return user

    def add_album(self, name: str, artist: str, titles: list[str], durations_s: list[float] | None = None) -> str:
        album_id = spotify_id("a")
        artist_obj = {"id": spotify_id("r"), "name": artist, "type": "artist", "uri": "spotify:artist:x"}
        album = {"id": album_id, "name": name, "album_type": "album", "artists": [artist_obj], "type": "album",
                 "release_date": "2024-05-01", "total_tracks": len(titles), "uri": f"spotify:album:{album_id}",
                 "images": [{"url": f"https://i.scdn.co/image/{album_id}-640", "width": 640, "height": 640},
                            {"url": f"https://i.scdn.co/image/{album_id}-64", "width": 64, "height": 64}],
                 "external_urls": {"spotify": f"https://open.spotify.com/album/{album_id}"}}
        ids = []
        for number, title in enumerate(titles, start=1):
            track_id = spotify_id("t")
            duration = (durations_s or [200.0] * len(titles))[number - 1]
            self.tracks[track_id] = {
                "id": track_id, "name": title, "type": "track", "artists": [artist_obj], "album": album,
                "duration_ms": int(duration * 1000), "explicit": False, "track_number": number, "disc_number": 1,
                "external_ids": {"isrc": f"DEA12400{number:04d}"}, "popularity": 50, "is_local": False,
                "uri": f"spotify:track:{track_id}", "href": f"{self.base_url}/v1/tracks/{track_id}",
                "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"}}
            ids.append(track_id)
        self.albums[album_id] = album | {"track_ids": ids}
        return album_id

    def add_playlist(self, name: str, track_ids: list[str]) -> str:
        playlist_id = spotify_id("p")
        self.playlists[playlist_id] = {"id": playlist_id, "name": name, "type": "playlist", "track_ids": track_ids,
                                       "owner": {"id": "owner", "display_name": "A Curator", "type": "user"},
                                       "images": [{"url": f"https://i.scdn.co/image/{playlist_id}", "width": 300}],
                                       "uri": f"spotify:playlist:{playlist_id}"}
        return playlist_id

    def fail(self, path: str, status: int, *, times: int = 1, retry_after: int | None = None) -> None:
        """The next ``times`` calls to ``path`` answer ``status`` (a 429 with ``Retry-After``)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.failures.append(Failure(path, status, times, headers))

    def expire_access_tokens(self) -> None:
        for grant in self.access.values():
            grant["expires_at"] = 0

    def revoke_refresh_tokens(self) -> None:
        self.refresh_tokens.clear()

    # -- the server --------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.web_api])
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/authorize/decide", self.decide)
        app.router.add_post("/api/token", self.token)
        app.router.add_get("/v1/me", self.me)
        app.router.add_get("/v1/tracks", self.several_tracks)
        app.router.add_get("/v1/tracks/{id}", self.track)
        for kind in ("albums", "playlists"):
            app.router.add_get(f"/v1/{kind}/{{id}}", self.container)
            app.router.add_get(f"/v1/{kind}/{{id}}/tracks", self.container_tracks)
        app.router.add_get("/v1/search", self.search)
        return app

    @web.middleware
    async def web_api(self, request: web.Request, handler):
        if not request.path.startswith("/v1/"):
            return await handler(request)
        self.calls.append(request.path_qs)
        for failure in self.failures:
            if failure.times > 0 and request.path == failure.path:
                failure.times -= 1
                return _error(failure.status, "API rate limit exceeded" if failure.status == 429
                              else "Server error", failure.headers)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        grant = self.access.get(token) if scheme == "Bearer" else None
        if grant is None:
            return _error(401, "Invalid access token")
        if grant["expires_at"] < time.time():
            return _error(401, "The access token expired")
        request[GRANT] = grant
        return await handler(request)

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != CLIENT_ID:
            return web.Response(status=400, text="INVALID_CLIENT: Invalid client")
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256" \
                or not query.get("code_challenge") or not query.get("redirect_uri"):
            return web.Response(status=400, text="Illegal request")
        fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                         for k, v in query.items())
        return web.Response(content_type="text/html", text=f"""<!doctype html><title>Spotify</title>
<p>Sound Forge Alchemy wants to read your profile and playlists.</p>
<form method="post" action="/authorize/decide">{fields}<button name="decision" value="agree" id="agree">Agree</button>
<button name="decision" value="cancel" id="cancel">Cancel</button></form>""")

    async def decide(self, request: web.Request) -> web.Response:
        form = await request.post()
        back = {"state": form["state"]}
        if form.get("decision") == "agree":
            code = secrets.token_urlsafe(24)
            self.codes[code] = {"redirect_uri": form["redirect_uri"], "challenge": form["code_challenge"],
                                "user": self.signed_in_as, "scope": form.get("scope", "")}
            back = {"code": code} | back
        else:
            back = {"error": "access_denied"} | back
        raise web.HTTPFound(f"{form['redirect_uri']}?{urlencode(back)}")

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        client_id, secret = _basic(request.headers.get("Authorization", ""))
        grant_type = form.get("grant_type")
        if (client_id or form.get("client_id")) != CLIENT_ID or (secret is not None and secret != CLIENT_SECRET):
            return web.json_response({"error": "invalid_client", "error_description": "Invalid client"}, status=401)
        if grant_type == "authorization_code":
            code = self.codes.pop(form.get("code", ""), None)
            if code is None:
                return _oauth_error("invalid_grant", "Invalid authorization code")
            if code["redirect_uri"] != form.get("redirect_uri"):
                return _oauth_error("invalid_grant", "Invalid redirect URI")
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != code["challenge"]:
                return _oauth_error("invalid_grant", "code_verifier was incorrect")
            return web.json_response(self._grant(code["user"], code["scope"], with_refresh=True))
        if grant_type == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh_tokens:
                return _oauth_error("invalid_grant", "Refresh token revoked")
            return web.json_response(self._grant(self.refresh_tokens[refresh], "", with_refresh=False))
        if grant_type == "client_credentials":
            if secret != CLIENT_SECRET:
                return web.json_response({"error": "invalid_client"}, status=401)
            return web.json_response(self._grant(None, "", with_refresh=False))
        return _oauth_error("unsupported_grant_type", f"grant_type must be one of the three, not {grant_type}")

    def _grant(self, user: str | None, scope: str, *, with_refresh: bool) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        self.access[token] = {"user": user, "expires_at": time.time() + self.expires_in}
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in, "scope": scope}
        if with_refresh:
            refresh = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = user
            answer["refresh_token"] = refresh
        return answer

    async def me(self, request: web.Request) -> web.Response:
        if request[GRANT]["user"] is None:
            return _error(401, "This request requires user authentication.")
        return web.json_response(self.profiles[request[GRANT]["user"]])

    async def track(self, request: web.Request) -> web.Response:
        found = self.tracks.get(request.match_info["id"])
        return web.json_response(found) if found else _error(404, "Non existing id")

    async def several_tracks(self, request: web.Request) -> web.Response:
        ids = request.query.get("ids", "").split(",")
        if len(ids) > 50:
            return _error(400, "Too many ids requested")
        return web.json_response({"tracks": [self.tracks.get(track_id) for track_id in ids]})

    def _simplified(self, track_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.tracks[track_id].items() if k not in ("album", "external_ids", "popularity")}

    def _album_items(self, album: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._simplified(i) for i in album["track_ids"]]

    def _playlist_items(self, playlist: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"added_at": "2024-01-01T00:00:00Z", "is_local": False, "track": self.tracks[i]}
                for i in playlist["track_ids"]]

    def _container(self, kind: str) -> tuple[dict[str, dict[str, Any]], Any, int, str]:
        """Where albums or playlists live, how their items look, the page size, the not-found message."""
        if kind == "albums":
            return self.albums, self._album_items, 50, "Non existing id"
        return self.playlists, self._playlist_items, 100, "Resource not found"

    async def container(self, request: web.Request) -> web.Response:
        """``/v1/albums/{id}`` or ``/v1/playlists/{id}``: the object with the first page of its tracks."""
        kind = request.path.split("/")[2]
        store, items, size, missing = self._container(kind)
        found = store.get(request.match_info["id"])
        if found is None:
            return _error(404, missing)
        body = {k: v for k, v in found.items() if k != "track_ids"}
        body["tracks"] = self._page(request, items(found), 0, size, f"/v1/{kind}/{found['id']}/tracks")
        return web.json_response(body)

    async def container_tracks(self, request: web.Request) -> web.Response:
        """``/v1/albums/{id}/tracks`` or ``/v1/playlists/{id}/tracks``: one page of the tracks."""
        store, items, size, missing = self._container(request.path.split("/")[2])
        found = store.get(request.match_info["id"])
        if found is None:
            return _error(404, missing)
        offset, limit = _paging(request, size)
        return web.json_response(self._page(request, items(found), offset, limit, request.path))

    async def search(self, request: web.Request) -> web.Response:
        query, kind = request.query.get("q", "").lower(), request.query.get("type", "")
        if not query or kind not in ("track", "album", "playlist", "artist"):
            return _error(400, "No search query" if not query else "Bad search type field")
        offset, limit = _paging(request, 50)
        if kind == "track":
            found = [t for t in self.tracks.values()
                     if query in t["name"].lower() or query in t["artists"][0]["name"].lower()]
        elif kind == "album":
            found = [{k: v for k, v in a.items() if k != "track_ids"} for a in self.albums.values()
                     if query in a["name"].lower()]
        elif kind == "playlist":
            found = [{k: v for k, v in p.items() if k != "track_ids"} | {"tracks": {"total": len(p["track_ids"])}}
                     for p in self.playlists.values() if query in p["name"].lower()]
        else:
            found = []
        return web.json_response({f"{kind}s": self._page(request, found, offset, limit, "/v1/search")})

    def _page(self, request: web.Request, items: list, offset: int, limit: int, path: str) -> dict[str, Any]:
        def link(at: int) -> str:
            return f"{self.base_url}{path}?{urlencode({**request.query, 'offset': at, 'limit': limit})}"

        return {"href": link(offset), "items": items[offset:offset + limit], "limit": limit, "offset": offset,
                "total": len(items), "next": link(offset + limit) if offset + limit < len(items) else None,
                "previous": link(max(0, offset - limit)) if offset else None}


def _paging(request: web.Request, most: int) -> tuple[int, int]:
    return int(request.query.get("offset", 0)), min(int(request.query.get("limit", 20)), most)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"status": status, "message": message}}, status=status, headers=headers)


def _oauth_error(error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=400)


def _basic(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme != "Basic":
        return None, None
    client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    return client_id, secret


def settings(fake: FakeSpotify) -> dict[str, str]:
    """The server's environment pointing at the fake, with the app's credentials."""
    return {"SFA_SPOTIFY_CLIENT_ID": CLIENT_ID, "SFA_SPOTIFY_CLIENT_SECRET": CLIENT_SECRET,
            "SFA_SPOTIFY_ACCOUNTS_URL": fake.base_url, "SFA_SPOTIFY_API_URL": f"{fake.base_url}/v1"}
