"""``lv:<id>``: one mounted LiveView, run by the channel's in-loop actor (Phoenix.LiveView.Channel).

The join checks the socket's CSRF token and the signed tokens (``stale`` when any is bad, so the client
reloads the page and gets fresh ones), routes the page's URL (``unauthorized`` when it does not lead to the
token's view), mounts the view and replies with the whole rendered tree. Each client event, live patch or
broadcast then runs one callback and answers with the diff of what it changed, plus the effects it asked
for. An exception in a callback crashes this channel alone: the client rejoins and the view mounts afresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sfa.pubsub import Broadcast
from sfa.web.live.diff import diff
from sfa.web.live.params import decode_form
from sfa.web.live.routes import LiveRoutes, view_name
from sfa.web.live.tokens import sign_flash, verify, verify_flash
from sfa.web.live.view import LiveView, NotFound, ViewEnv
from sfa.web.phoenix import Channel, JoinRefused, Ok, handles
from sfa.web.phoenix.message import Payload

log = logging.getLogger(__name__)

LIVEVIEW_VERSION = "1.2.12"
STALE = {"reason": "stale"}
UNAUTHORIZED = {"reason": "unauthorized"}


def url_params(url: str, path_params: dict[str, str]) -> dict[str, Any]:
    """A page's parameters: the query's, then the path's (which win), as Phoenix merges them."""
    return {**dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)), **path_params}


class EveryEvent(frozenset):
    """Intercepts that hold every event name: a view handles each broadcast it hears, and none may bypass it to
    the client by the fastlane (the client of a LiveView reads diffs, never raw events)."""

    def __contains__(self, event: object) -> bool:
        return True

    def __bool__(self) -> bool:
        return True


class LiveChannel(Channel):
    """Needs ``connect_info`` with ``app``, ``routes``, ``token_key`` and ``csrf`` (the socket's token, when
    it matched the cookie session's; None otherwise)."""

    intercepts = EveryEvent()
    view: LiveView

    async def join(self, payload: Payload) -> dict[str, Any]:
        info = self.context.connect_info
        if not isinstance(payload, dict) or info.get("csrf") is None:
            raise JoinRefused(STALE)
        signed = verify(info["token_key"], self.topic.removeprefix("lv:"), payload.get("session"),
                        payload.get("static"))
        if signed is None:
            raise JoinRefused(STALE)
        if signed.user_id != self.context.user.id:
            raise JoinRefused(UNAUTHORIZED)
        self._topics: list[str] = []
        self._joined = False
        url = payload.get("redirect") or payload.get("url")
        routes: LiveRoutes = info["routes"]
        found = routes.match(urlsplit(url).path) if isinstance(url, str) else None
        # A live redirect may lead to any live page of ours; a first join only to the page it was rendered as.
        if found is None or ("redirect" not in payload and view_name(found[0]) != signed.view):
            raise JoinRefused(UNAUTHORIZED)
        view_class, path_params = found
        self.url = url
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[None]] = set()
        env = ViewEnv(self.context.user, info["app"], connected=True, csrf=info["csrf"], subscribe=self.subscribe_later,
                      send_after=self._send_after, start_task=self._start_task)
        self.view = view_class(env)
        params = url_params(url, path_params)
        started = time.perf_counter()
        try:
            await self.view.mount(params, {})
            await self.view.handle_params(params, url)
        except NotFound:
            raise JoinRefused(UNAUTHORIZED) from None
        carried = verify_flash(info["token_key"], payload.get("flash"))
        self.view.assign(flash={**signed.flash, **carried, **self.view.assigns["flash"]})
        effects = self.view.take_effects()
        if effects.redirect is not None:
            raise JoinRefused({"redirect": {"to": effects.redirect}})
        if effects.navigate is not None:
            raise JoinRefused({"live_redirect": {"to": effects.navigate[0], "kind": effects.navigate[1]}})
        _, tree = self.view.rendered()
        rendered = tree.to_json()
        if title := self.view.assigns.get("page_title"):
            rendered["t"] = title
        if effects.events:
            rendered["e"] = effects.events
        self._title = self.view.assigns.get("page_title")
        self._joined = True
        log.info("mounted %s for user %s in %.1f ms", type(self.view).__name__, self.context.user.id,
                 (time.perf_counter() - started) * 1000)
        return {"rendered": rendered, "liveview_version": LIVEVIEW_VERSION}

    def subscriptions(self) -> tuple[str, ...]:
        return tuple(self._topics)

    def subscribe_later(self, topic: str) -> None:
        """Topics asked for during mount go in :meth:`subscriptions`; later ones are subscribed at once."""
        if self._joined:
            self.subscribe(topic)
        else:
            self._topics.append(topic)

    def _send_after(self, delay_s: float, message: Broadcast) -> None:
        if self._mailbox is not None:
            loop = asyncio.get_running_loop()
            self._timers = [timer for timer in self._timers if not timer.cancelled() and timer.when() > loop.time()]
            self._timers.append(loop.call_later(delay_s, self._mailbox, message))

    def _start_task(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name=f"{self.topic} task")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a task of %s failed", self.topic, exc_info=task.exception())

    def detach(self) -> None:
        super().detach()
        for timer in getattr(self, "_timers", ()):
            timer.cancel()
        for task in list(getattr(self, "_tasks", ())):
            task.cancel()

    # Client events.

    @handles("event")
    async def on_event(self, payload: Payload) -> Ok:
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            return Ok({})
        value = payload.get("value")
        if payload.get("type") == "form":
            value = decode_form(value if isinstance(value, str) else "")
            meta = payload.get("meta")
            if isinstance(meta, dict):
                value.update(meta)
        elif not isinstance(value, dict):
            value = {"value": value}
        await self.view.handle_event(payload["event"], value)
        return Ok(await self._update())

    @handles("live_patch")
    async def on_live_patch(self, payload: Payload) -> Ok:
        url = payload.get("url") if isinstance(payload, dict) else None
        found = self.context.connect_info["routes"].match(urlsplit(url).path) if isinstance(url, str) else None
        if found is None or found[0] is not type(self.view):
            return Ok({"link_redirect": True})
        self.url = url
        await self.view.handle_params(url_params(url, found[1]), url)
        return Ok(await self._update())

    @handles("cids_will_destroy")
    async def on_cids_will_destroy(self, payload: Payload) -> Ok:
        return Ok({})

    @handles("cids_destroyed")
    async def on_cids_destroyed(self, payload: Payload) -> Ok:
        cids = payload.get("cids") if isinstance(payload, dict) else None
        return Ok({"cids": cids if isinstance(cids, list) else []})

    # Server side.

    async def handle_out(self, broadcast: Broadcast) -> None:
        await self.view.handle_info(broadcast)
        reply = await self._update()
        if "diff" in reply:
            self.push("diff", reply.pop("diff"))
        for event, effect in reply.items():
            self.push(event, effect)

    async def _update(self) -> dict[str, Any]:
        """The reply (or pushes) for what the last callback changed and asked for."""
        effects = self.view.take_effects()
        if effects.patch is not None:
            to, kind = effects.patch
            found = self.context.connect_info["routes"].match(urlsplit(to).path)
            if found is not None and found[0] is type(self.view):
                self.url = to
                await self.view.handle_params(url_params(to, found[1]), to)
                effects.events += self.view.take_effects().events
            else:
                effects.navigate = effects.navigate or (to, kind)
                effects.patch = None
        previous, tree = self.view.rendered()
        changes = diff(previous, tree)
        title = self.view.assigns.get("page_title")
        if title != self._title:
            changes["t"] = self._title = title
        if effects.events:
            changes["e"] = effects.events
        reply: dict[str, Any] = {"diff": changes} if changes else {}
        if effects.redirect is not None:
            reply["redirect"] = {"to": effects.redirect}
        elif effects.navigate is not None:
            reply["live_redirect"] = {"to": effects.navigate[0], "kind": effects.navigate[1]}
            if flash := self.view.assigns["flash"]:
                reply["live_redirect"]["flash"] = sign_flash(self.context.connect_info["token_key"], flash)
        elif effects.patch is not None:
            reply["live_patch"] = {"to": effects.patch[0], "kind": effects.patch[1]}
        return reply
