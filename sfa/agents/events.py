"""What a turn streams on ``agents:<conversation_id>``, shaped as the contract's channel events."""

from __future__ import annotations

from dataclasses import dataclass

from sfa.pubsub import Broadcast, PubSub


def agents_topic(conversation_id: int) -> str:
    return f"agents:{conversation_id}"


@dataclass(frozen=True, slots=True)
class AgentStream:
    """Publishes one conversation's events to its topic, on every node."""

    pubsub: PubSub
    conversation_id: int

    async def chunk(self, text: str) -> None:
        if text:
            await self._publish("agent:chunk", {"conversation_id": self.conversation_id, "text": text})

    async def tool(self, name: str, status: str) -> None:
        await self._publish("agent:tool", {"name": name, "status": status})

    async def done(self, message_id: int) -> None:
        await self._publish("agent:done", {"conversation_id": self.conversation_id, "message_id": message_id})

    async def cut_off(self, error: str) -> None:
        """The text streamed since the last tool event is void: its provider failed midway (the next one's
        reply follows, and the stored message holds only that)."""
        await self.error(f"{error}; the reply starts over")

    async def error(self, error: str) -> None:
        await self._publish("agent:error", {"error": error})

    async def _publish(self, event: str, payload: dict) -> None:
        await self.pubsub.publish(Broadcast(agents_topic(self.conversation_id), event, payload))
