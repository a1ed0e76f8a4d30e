"""The frames of the channel protocol, independent of how a serializer lays them out on the wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sfa.pubsub import Broadcast

Payload = dict[str, Any] | bytes
"""A JSON object, or the raw bytes of a V2 binary frame."""

MAX_FIELD_BYTES = 255
"""The longest ``topic``, ``event``, ``ref`` or ``join_ref`` in UTF-8: what a V2 binary frame's header can
carry, so that any frame a client may send can be answered in either form."""


class InvalidMessage(ValueError):
    """A frame the serializer cannot read: the client's mistake, answered or dropped, never a crash."""


@dataclass(frozen=True, slots=True)
class Message:
    """A push: from a client, or from a channel to its client (``ref`` None, ``join_ref`` the channel's)."""

    topic: str
    event: str
    payload: Payload = field(default_factory=dict)
    ref: str | None = None
    join_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to the client push whose ``ref`` it repeats, sent as event ``phx_reply``."""

    topic: str
    status: str
    response: Payload
    ref: str | None
    join_ref: str | None = None


Outgoing = Message | Reply | Broadcast
