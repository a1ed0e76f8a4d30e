"""The signed tokens of a live page: they verify for their own view id and user only, and not once expired
or changed; a socket without the session cookie is refused before any join."""

from __future__ import annotations

import time

import jwt

from sfa.web.live.tokens import ALGORITHM, SESSION_AUDIENCE, sign_flash, sign_session, sign_static, verify, verify_flash

KEY = b"k" * 32


def test_tokens_verify_for_their_own_view_only():
    session, static = sign_session(KEY, "phx-a", "views.Dashboard", 7), sign_static(KEY, "phx-a", {"info": "hi"})
    verified = verify(KEY, "phx-a", session, static)
    assert (verified.view, verified.user_id, verified.flash) == ("views.Dashboard", 7, {"info": "hi"})
    assert verify(KEY, "phx-b", session, static) is None
    assert verify(KEY, "phx-a", session, sign_static(KEY, "phx-b", {})) is None
    assert verify(b"x" * 32, "phx-a", session, static) is None
    assert verify(KEY, "phx-a", static, session) is None  # each token only in its own place
    assert verify(KEY, "phx-a", session, None).flash == {}


def test_an_expired_session_token_is_refused():
    old = int(time.time()) - 15 * 24 * 3600
    expired = jwt.encode({"id": "phx-a", "view": "v", "sub": "7", "aud": SESSION_AUDIENCE, "iat": old,
                          "exp": old + 14 * 24 * 3600}, KEY, algorithm=ALGORITHM)
    assert verify(KEY, "phx-a", expired, None) is None


def test_a_flash_travels_signed():
    assert verify_flash(KEY, sign_flash(KEY, {"info": "Uploaded"})) == {"info": "Uploaded"}
    assert verify_flash(KEY, sign_flash(b"x" * 32, {"info": "forged"})) == {}
    assert verify_flash(KEY, None) == {}


async def test_a_socket_without_the_session_cookie_is_refused(client):
    response = await client.get("/live/websocket", params={"vsn": "2.0.0", "_csrf_token": "x"},
                                headers={"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert response.status == 403
