"""The LiveView behaviour: a subclass per page, one instance per mounted page (HTTP render or live channel).

A view keeps its state in ``self.assigns`` through :meth:`LiveView.assign`, which records what changed;
``render`` (by default the class's ``template``) re-evaluates only the holes over changed names, and the
channel sends the diff. Callbacks, in the order Phoenix calls them::

    mount(params, session)        once per HTTP render and once per join (``self.connected`` tells which)
    handle_params(params, uri)    after mount, and on each live patch
    handle_event(event, value)    a client event; by default the method marked ``@event("name")``
    handle_info(message)          a PubSub broadcast on a topic the view subscribed to with ``subscribe``

Side effects (``push_event``, ``push_patch``, ``push_navigate``, ``redirect``, ``put_flash``) are queued and
go out with the reply or push that follows the callback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web

from sfa.pubsub import Broadcast
from sfa.web.live.template import Rendered, Template

if TYPE_CHECKING:
    from sfa.accounts import User

IMMUTABLE = (str, int, float, bool, bytes, tuple, frozenset, type(None))
EventHandler = Callable[[Any, dict[str, Any]], Awaitable[None]]


class NotFound(Exception):
    """Raised from a callback when the page's record is not the user's: a 404 page, never a join."""


@dataclass(frozen=True, slots=True)
class ViewEnv:
    """What a view runs with: who is looking, the app's services, and whether a client is connected."""

    user: User
    app: web.Application
    connected: bool
    csrf: str
    subscribe: Callable[[str], None] = lambda topic: None
    send_after: Callable[[float, Broadcast], None] = lambda delay, message: None
    start_task: Callable[[Coroutine[Any, Any, None]], None] = lambda work: work.close()


@dataclass(slots=True)
class Effects:
    """What the last callbacks asked of the client, taken by the channel after each one."""

    events: list[list[Any]] = field(default_factory=list)
    redirect: str | None = None
    navigate: tuple[str, str] | None = None
    patch: tuple[str, str] | None = None


def event(name: str) -> Callable[[EventHandler], EventHandler]:
    """Mark a method as the handler of client event ``name``; it gets the event's value (a dict)."""

    def mark(method: EventHandler) -> EventHandler:
        method.live_event = name
        return method

    return mark


class LiveView:
    template: ClassVar[Template | None] = None
    events: ClassVar[dict[str, str]] = {}
    """Client event -> method name, collected from ``@event`` when the subclass is defined."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        marked = {getattr(method, "live_event", None): name for name, method in vars(cls).items()}
        marked.pop(None, None)
        cls.events = {**cls.events, **marked}

    def __init__(self, env: ViewEnv) -> None:
        self.env = env
        self.assigns: dict[str, Any] = {"flash": {}, "page_title": "", "current_user": env.user}
        self.effects = Effects()
        self._changed: set[str] | None = None  # None: everything, as on a first render
        self._previous: Rendered | None = None

    # What the view runs with.

    @property
    def user(self) -> User:
        return self.env.user

    @property
    def app(self) -> web.Application:
        return self.env.app

    @property
    def connected(self) -> bool:
        return self.env.connected

    @property
    def csrf(self) -> str:
        """The page's CSRF token, for plain forms a view renders (log out)."""
        return self.env.csrf

    def subscribe(self, topic: str) -> None:
        """Hear ``topic``'s broadcasts in :meth:`handle_info` (only while connected; HTTP renders ignore it)."""
        self.env.subscribe(topic)

    def send_after(self, delay_s: float, message: Broadcast) -> None:
        """``message`` to this view's :meth:`handle_info` in ``delay_s`` (a timer; only while connected)."""
        self.env.send_after(delay_s, message)

    def start_task(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the view (a slow call whose results come back as broadcasts), cancelled when
        the view goes; only while connected."""
        self.env.start_task(work)

    # State.

    def assign(self, **values: Any) -> None:
        for key, value in values.items():
            old = self.assigns.get(key, _MISSING)
            # A mutable value assigned again may have been changed in place, so it counts as changed.
            mutated = old is value and not isinstance(value, IMMUTABLE)
            if old is _MISSING or mutated or old != value:
                if self._changed is not None:
                    self._changed.add(key)
                self.assigns[key] = value

    def put_flash(self, kind: str, message: str) -> None:
        self.assign(flash={**self.assigns["flash"], kind: message})

    def clear_flash(self, kind: str | None = None) -> None:
        flash = {} if kind is None else {k: v for k, v in self.assigns["flash"].items() if k != kind}
        self.assign(flash=flash)

    # Effects.

    def push_event(self, name: str, payload: dict[str, Any]) -> None:
        """Dispatch ``name`` to the page's hooks (``this.handleEvent``) and as a ``phx:name`` window event."""
        self.effects.events.append([name, payload])

    def push_patch(self, to: str, *, replace: bool = False) -> None:
        """Change the URL without a remount; ``handle_params`` runs with the new one."""
        self.effects.patch = (to, "replace" if replace else "push")

    def push_navigate(self, to: str, *, replace: bool = False) -> None:
        """Go to another live page over the same connection."""
        self.effects.navigate = (to, "replace" if replace else "push")

    def redirect(self, to: str) -> None:
        """A full page load of ``to``."""
        self.effects.redirect = to

    def take_effects(self) -> Effects:
        effects, self.effects = self.effects, Effects()
        return effects

    # Callbacks.

    async def mount(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        pass

    async def handle_params(self, params: dict[str, Any], uri: str) -> None:
        pass

    async def handle_event(self, name: str, value: dict[str, Any]) -> None:
        if name == "lv:clear-flash":
            self.clear_flash(value.get("key"))
            return
        method = self.events.get(name)
        if method is None:
            raise LookupError(f"{type(self).__name__} has no handler for event {name!r}")
        await getattr(self, method)(value)

    async def handle_info(self, message: Broadcast) -> None:
        pass

    def render(self, assigns: dict[str, Any], changed: set[str] | None, previous: Rendered | None) -> Rendered:
        """The page's tree; by default the class's ``template`` over the assigns."""
        if self.template is None:
            raise NotImplementedError(f"{type(self).__name__} needs a template or its own render")
        return self.template.render(assigns, changed=changed, previous=previous)

    def rendered(self) -> tuple[Rendered | None, Rendered]:
        """(the previous tree, the current one), rendering only what changed since the previous call."""
        previous = self._previous
        if previous is not None and self._changed is not None and not self._changed:
            return previous, previous
        current = self.render(self.assigns, self._changed, previous)
        self._previous, self._changed = current, set()
        return previous, current


_MISSING = object()
