"""Which view serves a path: the live routes, in aiohttp's path syntax (``/tracks/{id:\\d+}``).

The same table answers the HTTP render (each route is also an aiohttp GET route) and the join, which must
route the page's URL to the view its session token names, as Phoenix checks a join against its router.
Frozen when the app starts.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from aiohttp import web

from sfa.web.live.view import LiveView

PLACEHOLDER = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})+))?\}")


def view_name(view: type[LiveView]) -> str:
    return f"{view.__module__}.{view.__qualname__}"


@dataclass(frozen=True, slots=True)
class LiveRoute:
    path: str
    view: type[LiveView]
    pattern: re.Pattern[str]
    anonymous: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None
    """The HTTP handler for visitors who are not signed in (by default they are sent to log in)."""


class LiveRoutes:
    def __init__(self) -> None:
        self._routes: list[LiveRoute] = []
        self._frozen = False

    def live(self, path: str, view: type[LiveView], *,
             anonymous: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None) -> None:
        if self._frozen:
            raise RuntimeError(f"cannot add {path!r}: the live routes are frozen once the app starts")
        self._routes.append(LiveRoute(path, view, _compile(path), anonymous))

    def freeze(self) -> None:
        self._frozen = True

    def __iter__(self) -> Iterator[LiveRoute]:
        return iter(self._routes)

    def match(self, path: str) -> tuple[type[LiveView], dict[str, str]] | None:
        """The view for ``path`` and the path's parameters, or None."""
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found is not None:
                return route.view, found.groupdict()
        return None


def _compile(path: str) -> re.Pattern[str]:
    parts, position = [], 0
    for found in PLACEHOLDER.finditer(path):
        parts.append(re.escape(path[position:found.start()]))
        parts.append(f"(?P<{found.group(1)}>{found.group(2) or '[^/]+'})")
        position = found.end()
    parts.append(re.escape(path[position:]))
    return re.compile("".join(parts))
