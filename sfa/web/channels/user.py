"""``user:<user_id>``: notifications for one user, on any of their connections (events ``user:*``).

Publish with ``await pubsub.publish(Broadcast(f"user:{user_id}", "user:<what>", payload))``.
"""

from __future__ import annotations

from sfa.web.channels.owned import OwnedChannel


class UserChannel(OwnedChannel):
    async def owner(self, record_id: int) -> int | None:
        return record_id
