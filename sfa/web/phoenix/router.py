"""Which channel class serves a topic: exact topics and ``prefix:*`` patterns, as Phoenix's ``channel/2``."""

from __future__ import annotations

from sfa.web.phoenix.channel import Channel


class ChannelRouter:
    """Routes added while the app is built; frozen when it starts, after which adding raises."""

    def __init__(self) -> None:
        self._exact: dict[str, type[Channel]] = {}
        self._prefixes: list[tuple[str, type[Channel]]] = []
        self._frozen = False

    def add(self, pattern: str, channel: type[Channel]) -> None:
        if self._frozen:
            raise RuntimeError(f"cannot add {pattern!r}: the channel router is frozen once the app starts")
        if pattern.endswith("*"):
            self._prefixes.append((pattern[:-1], channel))
            self._prefixes.sort(key=lambda route: len(route[0]), reverse=True)
        else:
            self._exact[pattern] = channel

    def freeze(self) -> None:
        self._frozen = True

    def match(self, topic: str) -> type[Channel] | None:
        if topic in self._exact:
            return self._exact[topic]
        return next((channel for prefix, channel in self._prefixes if topic.startswith(prefix)), None)
