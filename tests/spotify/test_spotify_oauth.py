"""Signing in with Spotify: authorization code with PKCE against the fake accounts service, through the
real routes, with a cookie jar per browser."""

from __future__ import annotations

import time

from yarl import URL

from tests.spotify.fake_spotify import CLIENT_ID, FakeSpotify


async def user_count(database) -> int:
    return await database.pool.fetchval("SELECT count(*) FROM users")


async def test_authorize_redirect_carries_state_and_an_s256_challenge(browsers):
    query = await browsers().start_spotify()
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and query["redirect_uri"].endswith("/auth/spotify/callback")


async def test_a_new_spotify_user_gets_an_account_and_a_session(browsers, spotify: FakeSpotify, database):
    spotify_user = spotify.add_profile("Ada Listener", "ada@example.com")
    browser = browsers()
    before = browser.session.cookie_jar.filter_cookies(URL(browser.base)).get("_sfa_session")
    response = await browser.sign_in_with_spotify()
    assert response.status == 302 and response.headers["Location"] == "/"
    after = browser.session.cookie_jar.filter_cookies(URL(browser.base))["_sfa_session"]
    assert before is None or before.value != after.value
    settings = await (await browser.get("/users/settings")).text()
    assert "ada@example.com" in settings and "Connected as <strong>Ada Listener</strong>" in settings
    row = await database.pool.fetchrow(
        "SELECT l.access_token, l.refresh_token, u.hashed_password FROM spotify_links l JOIN users u "
        "ON u.id = l.user_id WHERE l.spotify_user_id = $1", spotify_user)
    assert row["hashed_password"] is None
    plain = [token.encode() for token in list(spotify.access) + list(spotify.refresh_tokens)]
    assert not any(token in bytes(row["access_token"]) + bytes(row["refresh_token"]) for token in plain)


async def test_a_logged_in_user_is_linked_not_duplicated(browsers, spotify: FakeSpotify, make_account, database):
    account = await make_account()
    spotify.add_profile("Same Person", "someone.else@example.com")
    browser = browsers()
    await browser.log_in(account.user.email, account.password)
    users = await user_count(database)
    assert (await browser.sign_in_with_spotify()).status == 302
    assert await user_count(database) == users
    linked = await database.pool.fetchval("SELECT user_id FROM spotify_links WHERE spotify_user_id = $1",
                                          spotify.signed_in_as)
    assert linked == account.user.id
    again = browsers()
    assert (await again.sign_in_with_spotify()).status == 302
    assert account.user.email in await (await again.get("/users/settings")).text()


async def test_an_email_owned_by_another_account_is_not_merged(browsers, spotify: FakeSpotify, make_account,
                                                                database):
    account = await make_account()
    spotify.add_profile("Impostor", account.user.email.upper())
    users = await user_count(database)
    response = await browsers().sign_in_with_spotify()
    assert response.status == 409 and "already exists" in await response.text()
    assert await user_count(database) == users
    assert await database.pool.fetchval("SELECT count(*) FROM spotify_links WHERE user_id = $1", account.user.id) == 0


async def test_bad_states_and_a_refusal_create_nothing(browsers, spotify: FakeSpotify, database):
    spotify.add_profile("Nobody", "nobody@example.com")
    users = await user_count(database)
    browser = browsers()

    refused = await browser.get(await browser.consent(await browser.start_spotify(), decision="cancel"))
    assert refused.status == 400 and "access_denied" in await refused.text()

    callback = await browser.consent(await browser.start_spotify())
    stolen = await browsers().get(callback)
    assert stolen.status == 400 and "invalid, has expired or was already used" in await stolen.text()

    callback = await browser.consent(await browser.start_spotify())
    await database.pool.execute("UPDATE spotify_oauth_states SET expires_at = now() - interval '1 second'")
    expired = await browser.get(callback)
    assert expired.status == 400

    forged = await browser.get("/auth/spotify/callback?code=abc&state=made-up")
    assert forged.status == 400
    assert await user_count(database) == users

    callback = await browser.consent(await browser.start_spotify())
    assert (await browser.get(callback)).status == 302
    replayed = await browser.get(callback)
    assert replayed.status == 400 and "already used" in await replayed.text()
    assert await user_count(database) == users + 1


async def test_tokens_are_refreshed_before_expiry_and_a_revoked_link_asks_to_reconnect(
        browsers, spotify: FakeSpotify, database):
    spotify.add_profile("Refresher", "refresher@example.com")
    spotify.add_album("Album", "Artist", ["Song"])
    browser = browsers()
    await browser.sign_in_with_spotify()
    assert (await browser.get("/api/spotify/search?q=song")).status == 200
    assert [grant["user"] for grant in spotify.access.values()] == [spotify.signed_in_as]

    await database.pool.execute("UPDATE spotify_links SET expires_at = now() + interval '10 seconds' "
                                "WHERE spotify_user_id = $1", spotify.signed_in_as)
    assert (await browser.get("/api/spotify/search?q=song")).status == 200
    assert len(spotify.access) == 2
    expires = await database.pool.fetchval("SELECT expires_at FROM spotify_links WHERE spotify_user_id = $1",
                                           spotify.signed_in_as)
    assert expires.timestamp() > time.time() + 600

    spotify.expire_access_tokens()
    assert (await browser.get("/api/spotify/search?q=song")).status == 200
    assert len(spotify.access) == 3

    spotify.expire_access_tokens()
    spotify.revoke_refresh_tokens()
    response = await browser.get("/api/spotify/search?q=song")
    body = await response.json()
    assert response.status == 401 and body["code"] == "UNAUTHORIZED" and "reconnect" in body["error"]
    assert await database.pool.fetchval("SELECT count(*) FROM spotify_links WHERE spotify_user_id = $1",
                                        spotify.signed_in_as) == 0
    assert "Not connected" in await (await browser.get("/users/settings")).text()
    assert (await browser.get("/api/spotify/search?q=song")).status == 200


async def test_settings_can_unlink_spotify(browsers, spotify: FakeSpotify, database):
    spotify.add_profile("Leaver", "leaver@example.com")
    browser = browsers()
    await browser.sign_in_with_spotify()
    response = await browser.post("/users/settings/spotify", {"_method": "delete",
                                                              "_csrf_token": await browser.csrf("/users/settings")})
    assert response.status == 302 and response.headers["Location"] == "/users/settings"
    assert "Not connected" in await (await browser.get("/users/settings")).text()
    assert await database.pool.fetchval("SELECT count(*) FROM spotify_links WHERE spotify_user_id = $1",
                                        spotify.signed_in_as) == 0
