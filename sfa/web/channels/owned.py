"""Channels on ``<prefix>:<id>`` topics that only the owner of the record ``<id>`` may join."""

from __future__ import annotations

from typing import Any

from sfa.ids import parse_id
from sfa.web.phoenix.channel import Channel, JoinRefused, Ok, handles
from sfa.web.phoenix.message import Payload

UNAUTHORIZED = {"reason": "unauthorized"}


def topic_id(topic: str) -> int | None:
    """The id after the topic's first ``:``, when it writes one (:func:`sfa.ids.parse_id`)."""
    return parse_id(topic.partition(":")[2])


class OwnedChannel(Channel):
    """Someone who does not own the record (or names none) is refused with ``{"reason":"unauthorized"}``."""

    async def owner(self, record_id: int) -> int | None:
        """The user id owning ``record_id``, or None when there is no such record."""
        raise NotImplementedError

    async def join(self, payload: Payload) -> dict[str, Any]:
        record_id = topic_id(self.topic)
        if record_id is None or await self.owner(record_id) != self.context.user.id:
            raise JoinRefused(UNAUTHORIZED)
        return {}

    @handles("ping")
    async def ping(self, payload: Payload) -> Ok:
        return Ok(payload)
