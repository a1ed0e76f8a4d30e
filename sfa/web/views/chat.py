"""``/chat``: talk to the agents. The turn runs beside the view (it may take a while with an LLM); its reply
streams in on ``agents:<conversation_id>`` chunk by chunk, and the stored conversation replaces it when done."""

from __future__ import annotations

from typing import Any

from sfa.agents.conversations import conversation_messages, create_conversation, get_conversation, list_conversations
from sfa.agents.events import agents_topic
from sfa.agents.messages import ASSISTANT, USER, Message
from sfa.ids import parse_id
from sfa.pubsub import Broadcast
from sfa.web.api.agents import MAX_MESSAGE, chat_turn
from sfa.web.keys import DATABASE
from sfa.web.live import NotFound, event
from sfa.web.views.shell import AppView, template


class ChatView(AppView):
    template = template("chat.html")

    async def mount(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        await super().mount(params, session)
        database = self.app[DATABASE]
        conversations, _ = await list_conversations(database, self.user.id, offset=0, limit=20)
        self.assign(page_title="Chat", conversations=conversations, conversation=None, messages=[], streaming="",
                    tools=[], busy=False, error="", text="", max_message=MAX_MESSAGE)
        if "id" in params:
            conversation_id = parse_id(params["id"])
            conversation = None if conversation_id is None else await get_conversation(database, self.user.id,
                                                                                        conversation_id)
            if conversation is None:
                raise NotFound("conversation not found")
            await self._open(conversation)

    async def _open(self, conversation: Any) -> None:
        messages = await conversation_messages(self.app[DATABASE], conversation.id)
        if self.assigns["conversation"] is None:
            self.subscribe(agents_topic(conversation.id))
        self.assign(conversation=conversation, page_title=conversation.title or "Chat",
                    messages=[m for m in messages if m.role in (USER, ASSISTANT) and m.content])

    @event("send")
    async def send(self, value: dict[str, Any]) -> None:
        text = str(value.get("message", "")).strip()
        if not text or len(text) > MAX_MESSAGE:
            self.assign(error=f"Write a message of 1 to {MAX_MESSAGE} characters.", text=text)
            return
        if self.assigns["busy"]:
            return
        conversation = self.assigns["conversation"]
        if conversation is None:
            conversation = await create_conversation(self.app[DATABASE], self.user.id, text)
            await self._open(conversation)
            self.push_patch(f"/chat/{conversation.id}")
        self.assign(busy=True, error="", text="", streaming="", tools=[],
                    messages=[*self.assigns["messages"], Message(USER, text)])
        self.start_task(self._turn(conversation.id, text))

    async def _turn(self, conversation_id: int, text: str) -> None:
        # Its outcome arrives as the stream's own broadcasts (agent:done or agent:error).
        await chat_turn(self.app, self.assigns["current_user"], conversation_id, text)

    async def handle_info(self, message: Broadcast) -> None:
        conversation = self.assigns["conversation"]
        if conversation is None or message.topic != agents_topic(conversation.id):
            await super().handle_info(message)
            return
        payload = message.payload if isinstance(message.payload, dict) else {}
        match message.event:
            case "agent:chunk":
                self.assign(streaming=self.assigns["streaming"] + str(payload.get("text", "")))
            case "agent:tool":
                self.assign(tools=[*self.assigns["tools"], f"{payload.get('name')}: {payload.get('status')}"])
            case "agent:done":
                await self._open(conversation)
                self.assign(busy=False, streaming="", tools=[])
                self.push_event("chat:done", {"message_id": payload.get("message_id")})
            case "agent:error":
                self.assign(error=str(payload.get("error", "the agent failed")), streaming="",
                            busy="starts over" in str(payload.get("error", "")))
