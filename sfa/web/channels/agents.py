"""``agents:<conversation_id>``: a conversation's replies as they are written, for its owner (events
``agent:chunk``, ``agent:tool``, ``agent:done``, ``agent:error``, published by :mod:`sfa.agents.events`)."""

from __future__ import annotations

from sfa.agents.conversations import conversation_owner
from sfa.web.channels.owned import OwnedChannel


class AgentsChannel(OwnedChannel):
    async def owner(self, record_id: int) -> int | None:
        return await conversation_owner(self.context.database, record_id)
