"""Signing in with Spotify (authorization code with PKCE), and the Spotify part of the settings page.

``/auth/spotify`` keeps a fresh ``state`` and code verifier in the browser's encrypted session and the
state's hash in the database; ``/auth/spotify/callback`` accepts the state only from that same browser, only
once and only for ``STATE_TTL_S``. Anything wrong there shows a page saying what happened and changes nothing.
"""

from __future__ import annotations

import hmac
import secrets
from html import escape

from aiohttp import web
from aiohttp_session import get_session

from sfa.accounts.users import User
from sfa.integrations.spotify import SpotifyError, TokenSet, pkce_pair
from sfa.integrations.spotify.links import remember_state, take_state
from sfa.integrations.spotify.signin import SignInRefused, sign_in
from sfa.web.auth import identify
from sfa.web.csrf import csrf_token
from sfa.web.keys import DATABASE, SPOTIFY
from sfa.web.pages.forms import checked_form, signed_in
from sfa.web.pages.layout import button_form, render
from sfa.web.pages.login import log_in_user

routes = web.RouteTableDef()

PENDING = "spotify_oauth"
STATE_TTL_S = 600
CALLBACK = "/auth/spotify/callback"
START_AGAIN = '<p><a href="/auth/spotify">Sign in with Spotify again</a> or <a href="/">go home</a>.</p>'


async def _page(request: web.Request, title: str, message: str, *, status: int) -> web.Response:
    csrf = csrf_token(await get_session(request))
    body = f'<p class="error" id="spotify-problem">{escape(message)}</p>{START_AGAIN}'
    return render(title, body, user=await identify(request), csrf=csrf, status=status)


def _redirect_uri(request: web.Request) -> str:
    configured = request.app[SPOTIFY].config.spotify_redirect_uri
    return configured or str(request.url.with_path(CALLBACK).with_query(None))


@routes.get("/auth/spotify")
async def authorize(request: web.Request) -> web.Response:
    spotify = request.app[SPOTIFY]
    if not spotify.configured:
        return await _page(request, "Spotify is not configured",
                           "Signing in with Spotify is not set up on this server: its operator has not set "
                           "SFA_SPOTIFY_CLIENT_ID.", status=503)
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    (await get_session(request))[PENDING] = {"state": state, "verifier": verifier}
    async with request.app[DATABASE].pool.acquire() as conn:
        await remember_state(conn, state, STATE_TTL_S)
    raise web.HTTPFound(spotify.accounts.authorize_url(state=state, challenge=challenge,
                                                       redirect_uri=_redirect_uri(request)))


@routes.get(CALLBACK)
async def callback(request: web.Request) -> web.Response:
    spotify = request.app[SPOTIFY]
    if not spotify.configured:
        raise web.HTTPFound("/auth/spotify")
    pending = (await get_session(request)).pop(PENDING, None)
    state = request.query.get("state", "")
    async with request.app[DATABASE].pool.acquire() as conn:
        issued = bool(state) and await take_state(conn, state)
    ours = isinstance(pending, dict) and hmac.compare_digest(str(pending.get("state", "")).encode(), state.encode())
    if "error" in request.query:
        return await _page(request, "Spotify sign-in cancelled",
                           f"Spotify did not sign you in ({request.query['error'][:100]}). Nothing was changed.",
                           status=400)
    if not (issued and ours) or not request.query.get("code"):
        return await _page(request, "Spotify sign-in failed",
                           "This sign-in link is invalid, has expired or was already used. Nothing was changed.",
                           status=400)
    try:
        tokens = await spotify.accounts.exchange_code(request.query["code"], verifier=pending["verifier"],
                                                      redirect_uri=_redirect_uri(request))
        profile = await spotify.api(_fixed(tokens)).me()
    except SpotifyError as exc:
        return await _page(request, "Spotify sign-in failed", f"Spotify could not sign you in: {exc}", status=502)
    current = await identify(request)
    try:
        async with request.app[DATABASE].pool.acquire() as conn, conn.transaction():
            user = await sign_in(conn, spotify.links, current if current and current.active else None, profile,
                                 tokens)
    except SignInRefused as exc:
        return await _page(request, "Spotify sign-in refused", str(exc), status=409)
    return await log_in_user(request, user)


def _fixed(tokens: TokenSet):
    async def source(force: bool) -> str:
        return tokens.access_token

    return source


async def spotify_settings(request: web.Request, user: User, csrf: str) -> str:
    """The settings page's Spotify section: the linked account and an unlink button, or a link to connect."""
    spotify = request.app[SPOTIFY]
    if not spotify.configured:
        return ""
    async with request.app[DATABASE].pool.acquire() as conn:
        link = await spotify.links.get(conn, user.id)
    if link is None:
        return ('<h2>Spotify</h2><p id="spotify-link">Not connected. '
                '<a href="/auth/spotify">Connect Spotify</a></p>')
    name = escape(link.display_name or link.spotify_user_id)
    return (f'<h2>Spotify</h2><p id="spotify-link">Connected as <strong>{name}</strong> '
            f'(<code>{escape(link.spotify_user_id)}</code>) since {link.inserted_at:%Y-%m-%d}.</p>'
            + button_form("/users/settings/spotify", "Unlink Spotify", csrf, method="delete"))


@routes.delete("/users/settings/spotify")
@routes.post("/users/settings/spotify")
async def unlink(request: web.Request) -> web.Response:
    user = await signed_in(request)
    await checked_form(request)
    async with request.app[DATABASE].pool.acquire() as conn:
        await request.app[SPOTIFY].links.unlink(conn, user.id)
    raise web.HTTPFound("/users/settings")
