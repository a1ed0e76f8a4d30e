"""Wire formats, chosen per connection by the client's ``vsn`` parameter (Phoenix's ``~>`` requirement)."""

from __future__ import annotations

from typing import Protocol

from sfa.web.phoenix.message import Message, Outgoing
from sfa.web.phoenix.serializers.v1 import V1JSONSerializer
from sfa.web.phoenix.serializers.v2 import V2JSONSerializer

DEFAULT_VSN = "1.0.0"


class Serializer(Protocol):
    vsn: str

    def decode(self, frame: str | bytes) -> Message:
        """The client's frame as a Message; raise InvalidMessage when it is not one."""

    def encode(self, message: Outgoing) -> str | bytes:
        """The wire frame: ``str`` for a text frame, ``bytes`` for a binary one."""


SERIALIZERS: tuple[Serializer, ...] = (V1JSONSerializer(), V2JSONSerializer())


def serializer_for(vsn: str | None) -> Serializer | None:
    """The serializer whose version matches ``~> vsn``: same major and minor, any patch; None if none does."""
    wanted = _version(vsn or DEFAULT_VSN)
    for serializer in SERIALIZERS:
        ours = _version(serializer.vsn)
        if wanted is not None and wanted[:2] == ours[:2] and wanted >= ours:
            return serializer
    return None


def _version(vsn: str) -> tuple[int, int, int] | None:
    parts = vsn.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    major, minor, patch = map(int, parts)
    return major, minor, patch
