"""The LiveView wire protocol over ``/live/websocket``: join with the page's tokens, the rendered tree,
refusals of stale or forged tokens, events answered with diffs, broadcasts pushed as diffs."""

from __future__ import annotations

import json
import re

import aiohttp

from sfa.pubsub import job_progress
from sfa.web.keys import PUBSUB
from sfa.web.phoenix.endpoint import disconnect_user
from tests.analysis.test_analysis_api import song
from tests.live.conftest import LiveClient, connect, joined, open_page
from tests.pages import log_in


async def test_join_replies_with_the_rendered_tree_of_the_page(live):
    _, page, client = live
    reply = await client.join(page)
    assert reply["status"] == "ok", reply
    rendered = reply["response"]["rendered"]
    assert reply["response"]["liveview_version"] == "1.2.12"
    assert isinstance(rendered["s"], list) and len(rendered["s"]) == sum(k.isdigit() for k in rendered) + 1
    assert rendered["t"] == "Your tracks"
    assert "No tracks yet" in str(rendered)


async def test_a_forged_or_misplaced_token_gets_stale(live):
    browser, page, client = live
    forged = page.session[:-4] + ("AAAA" if not page.session.endswith("AAAA") else "BBBB")
    reply = await client.call(f"lv:{page.id}", "phx_join", {"url": page.url, "params": {}, "session": forged,
                                                            "static": page.static})
    assert reply == {"status": "error", "response": {"reason": "stale"}, "raw": reply["raw"]}
    other = await open_page(browser, "/")
    reply = await client.call(f"lv:{page.id}", "phx_join", {"url": page.url, "params": {}, "session": other.session,
                                                            "static": other.static})
    assert reply["response"] == {"reason": "stale"}


async def test_a_socket_without_the_pages_csrf_token_gets_stale_on_join(signed_in):
    page = await open_page(signed_in, "/")
    ws = await connect(signed_in, "not-the-token")
    try:
        reply = await LiveClient(ws).join(page)
        assert reply["response"] == {"reason": "stale"}
    finally:
        await ws.close()


async def test_a_url_routed_to_another_view_is_unauthorized(live):
    browser, page, client = live
    page.url = str(browser.make_url("/no/such/page"))
    reply = await client.join(page)
    assert reply["response"] == {"reason": "unauthorized"}


async def test_an_unknown_event_crashes_the_view_alone(live):
    _, page, client = live
    assert (await client.join(page))["status"] == "ok"
    await client.ws.send_str(json.dumps([client.join_ref, "99", f"lv:{page.id}", "event",
                                         {"type": "click", "event": "nope", "value": {}}]))
    error = await client.push("phx_error")
    assert error[2] == f"lv:{page.id}"
    assert (await client.call("phoenix", "heartbeat", {}))["status"] == "ok"


async def seed_library(database, user_id: int, tracks: int) -> list[int]:
    """``tracks`` tracks with a running analysis job each; the jobs' ids, oldest first."""
    track_ids = await database.pool.fetch(
        "INSERT INTO tracks (user_id, title, artist, source, path, bpm, key) "
        "SELECT $1, 'Track ' || n, 'Artist ' || n, 'upload', 'x.wav', 120, 'A minor' FROM generate_series(1, $2) n "
        "RETURNING id", user_id, tracks)
    rows = await database.pool.fetch(
        "INSERT INTO jobs (user_id, track_id, kind, queue, state, attempt, progress, message) "
        "SELECT $1, unnest($2::bigint[]), 'analysis', 'analysis', 'running', 1, 10, 'analysing' RETURNING id",
        user_id, [row["id"] for row in track_ids])
    return sorted(row["id"] for row in rows)


async def test_a_progress_tick_on_a_dashboard_of_100_tracks_is_a_diff_under_300_bytes(live, app, account, database):
    browser, _, client = live
    job_ids = await seed_library(database, account.user.id, 100)
    page = await open_page(browser, "/")
    joined = await client.join(page)
    assert joined["status"] == "ok" and len(rows_of(joined["response"]["rendered"])["k"]) == 101
    await app[PUBSUB].publish(job_progress(job_ids[50], status="processing", progress=42, message="analysing"))
    frame = (await client.ws.receive()).data
    diff = json.loads(frame)[4]
    assert json.loads(frame)[3] == "diff"
    keyed = rows_of(diff)["k"]
    entry = keyed[str(100 - 51)]
    assert set(keyed) == {"kc", str(100 - 51)} and "42" in str(entry) and "Track" not in str(entry)
    assert len(frame.encode()) < 300, frame


def rows_of(tree: dict) -> dict | None:
    """The dashboard's list of tracks in a rendered tree or diff: the page's only keyed comprehension."""
    if "k" in tree:
        return tree
    for value in tree.values():
        if isinstance(value, dict) and (rows := rows_of(value)) is not None:
            return rows
    return None


async def test_typing_in_the_search_box_filters_the_tracks_on_each_keyup(live, account, database):
    browser, _, client = live
    await seed_library(database, account.user.id, 12)
    page = await open_page(browser, "/")
    assert (await client.join(page))["status"] == "ok"
    reply = await client.event(page, "filter", {"key": "1", "value": "Track 1"}, kind="keyup")
    assert reply["response"]["diff"] and rows_of(reply["response"]["diff"])["k"]["kc"] == 4  # 1, 10, 11, 12
    reply = await client.event(page, "filter", {"key": "x", "value": "nothing like it"}, kind="keyup")
    assert "No track matches." in json.dumps(reply["response"]["diff"])


async def test_a_form_change_is_decoded_and_answered_with_the_changed_holes_only(signed_in):
    async with joined(signed_in, "/import") as (page, client):
        reply = await client.call(f"lv:{page.id}", "event", {
            "type": "form", "event": "validate", "value": "url=ftp%3A%2F%2Fx&_unused_other=",
            "meta": {"_target": "url"}}, client.join_ref)
        assert reply["status"] == "ok"
        diff = reply["response"]["diff"]
        assert "Must be an http or https URL." in json.dumps(diff) and "s" not in diff["2"]
        assert len(json.dumps(diff)) < 200
        same = await client.call(f"lv:{page.id}", "event", {
            "type": "form", "event": "validate", "value": "url=ftp%3A%2F%2Fx"}, client.join_ref)
        assert same["response"] == {}


async def test_suspending_the_user_closes_their_live_pages(live, app, account):
    _, page, client = live
    assert (await client.join(page))["status"] == "ok"
    await app[PUBSUB].publish(disconnect_user(account.user.id))
    closed = await client.ws.receive()
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) and client.ws.close_code == 1001


async def test_the_long_poll_fallback_joins_and_receives_the_tree(signed_in):
    page = await open_page(signed_in, "/")
    params = {"_csrf_token": page.csrf, "vsn": "2.0.0"}
    opened = await (await signed_in.get("/live/longpoll", params=params)).json()
    assert opened["status"] == 410
    headers = {"X-Phoenix-Longpoll-Token": opened["token"]}
    join = ["1", "1", f"lv:{page.id}", "phx_join", {"url": page.url, "params": {"_csrf_token": page.csrf},
                                                    "session": page.session, "static": page.static}]
    posted = await signed_in.post("/live/longpoll", params=params, headers={**headers, "content-type":
                                  "application/x-ndjson"}, data=json.dumps(join))
    assert (await posted.json())["status"] == 200
    polled = await (await signed_in.get("/live/longpoll", params=params, headers=headers)).json()
    reply = json.loads(polled["messages"][0])
    assert reply[3] == "phx_reply" and reply[4]["status"] == "ok" and "rendered" in reply[4]["response"]


async def test_a_live_patch_runs_handle_params_and_an_unknown_url_asks_for_a_redirect(signed_in):
    async with joined(signed_in, "/chat") as (page, client):
        same_view = await client.call(f"lv:{page.id}", "live_patch", {"url": page.url + "?x=1"}, client.join_ref)
        assert same_view["status"] == "ok" and same_view["response"] == {}
        elsewhere = await client.call(f"lv:{page.id}", "live_patch", {"url": page.url.replace("/chat", "/import")},
                                      client.join_ref)
        assert elsewhere["response"] == {"link_redirect": True}


async def test_assets_have_fingerprinted_names_and_long_cache_headers(client):
    html = await (await client.get("/users/log_in")).text()
    [script] = re.findall(r'src="(/assets/app-[0-9a-f]{12}\.js)"', html)
    response = await client.get(script)
    assert response.status == 200 and response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert (await client.get("/assets/app-000000000000.js")).status == 404


async def test_a_pro_user_starts_a_separation_with_the_chosen_model(browser, make_account, database):
    pro = await make_account("pro")
    assert (await log_in(browser, pro)).status == 302
    track_id = await database.pool.fetchval(
        "INSERT INTO tracks (user_id, title, source, path) VALUES ($1, 'Tone', 'upload', 'x.wav') RETURNING id",
        pro.user.id)
    async with joined(browser, f"/tracks/{track_id}") as (page, client):
        reply = await client.call(f"lv:{page.id}", "event", {
            "type": "form", "event": "separate", "value": "model=htdemucs_ft"}, client.join_ref)
        assert "processing" in json.dumps(reply["response"]["diff"])
    args = await database.pool.fetchval("SELECT args FROM jobs WHERE track_id = $1 AND kind = 'processing'", track_id)
    assert json.loads(args)["model"] == "htdemucs_ft"


async def test_a_track_uploaded_through_the_api_appears_on_the_open_dashboard(live, client, account):
    _, page, live_client = live
    assert (await live_client.join(page))["status"] == "ok"
    form = aiohttp.FormData()
    form.add_field("file", song(), filename="From the API.wav", content_type="audio/wav")
    response = await client.post("/api/tracks", data=form, headers=account.headers)
    assert response.status == 201, await response.text()
    diff = json.dumps((await live_client.push("diff"))[4])
    assert "From the API" in diff and "No tracks yet" not in diff


async def test_a_queued_job_is_cancelled_from_the_dashboard(live, account, database):
    browser, _, client = live
    track_id = await database.pool.fetchval(
        "INSERT INTO tracks (user_id, title, source, path) VALUES ($1, 'Tone', 'upload', 'x.wav') RETURNING id",
        account.user.id)
    job_id = await database.pool.fetchval(
        "INSERT INTO jobs (user_id, track_id, kind, queue, run_at) VALUES ($1, $2, 'analysis', 'analysis', "
        "now() + interval '1 hour') RETURNING id", account.user.id, track_id)
    page = await open_page(browser, "/")
    assert 'phx-click="cancel"' in page.html
    assert (await client.join(page))["status"] == "ok"
    assert (await client.event(page, "cancel", {"job": str(job_id)}))["status"] == "ok"
    diff = json.dumps((await client.push("diff"))[4])
    assert "cancelled" in diff
    assert await database.pool.fetchval("SELECT state FROM jobs WHERE id = $1", job_id) == "cancelled"
