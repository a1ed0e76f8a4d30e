"""``/api/agents``: the caller's conversations with the agents, and sending the Orchestrator a message.

A chat turn is stored whole or not at all: the user's message, every tool call with its result, and the
reply go in one transaction once the reply is complete, so a failed turn leaves no half-written message.
While it runs, the reply streams on ``agents:<conversation_id>``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sfa.accounts import User
from sfa.agents.conversations import (
    append_messages,
    conversation_messages,
    create_conversation,
    delete_conversation,
    get_conversation,
    list_conversations,
)
from sfa.agents.events import AgentStream
from sfa.agents.messages import ASSISTANT, TOOL, USER, Turn
from sfa.agents.orchestrator import Orchestrator
from sfa.ids import parse_id
from sfa.web.auth import current_user
from sfa.web.envelope import data, json_body, page_meta, pagination, path_id
from sfa.web.errors import NotFound, ValidationFailed
from sfa.web.keys import CONFIG, DATABASE, LLM, PUBSUB
from sfa.web.openapi import PAGINATION, data_reply, no_content, operation, page_reply
from sfa.web.openapi.components import BODY_ID, ID
from sfa.web.openapi.schema import ANY, STRING, TIMESTAMP, array, component, enum, nullable, obj, string

routes = web.RouteTableDef()

MAX_MESSAGE = 4000
CHAT_FIELDS = ("message", "conversation_id")
TURN_FAILED = "the agent failed before finishing its reply; nothing of this turn was stored"

OPEN_OBJECT = obj({}, closed=False)
CONVERSATION_FIELDS = {"id": ID, "title": STRING, "inserted_at": TIMESTAMP, "last_message_at": TIMESTAMP}
CONVERSATION = component("AgentConversation", obj(CONVERSATION_FIELDS))
AGENT_MESSAGE = component("AgentMessage", obj({
    "id": ID, "role": enum([USER, ASSISTANT, TOOL]), "content": STRING,
    "tool_calls": array(obj({"id": STRING, "name": STRING, "arguments": OPEN_OBJECT})),
    "tool_call_id": nullable(STRING), "name": nullable(STRING), "result": ANY, "agent": nullable(STRING),
    "provider": nullable(STRING), "inserted_at": TIMESTAMP}))
CONVERSATION_DETAIL = component("AgentConversationDetail",
                                obj(CONVERSATION_FIELDS | {"messages": array(AGENT_MESSAGE)}))
# A message with nothing but whitespace is refused, as str.strip() sees it.
CHAT_REQUEST = component("AgentChatRequest", obj({"message": string(1, MAX_MESSAGE, pattern="\\S")},
                                                 {"conversation_id": nullable(BODY_ID)}))
CHAT_REPLY = component("AgentChatReply", obj({
    "conversation_id": ID, "message_id": ID, "reply": STRING,
    "actions": array(obj({"tool": STRING, "arguments": OPEN_OBJECT, "status": enum(["ok", "error"]),
                          "result": OPEN_OBJECT}))}))


def chat_request(body: dict[str, Any]) -> tuple[str, int | None]:
    message, conversation_id = body.get("message"), body.get("conversation_id")
    errors: dict[str, list[str]] = {field: ["is not a field of a chat message"]
                                    for field in sorted(set(body) - set(CHAT_FIELDS))}
    if not isinstance(message, str) or not message.strip() or len(message) > MAX_MESSAGE:
        errors["message"] = [f"must be a non-empty string of at most {MAX_MESSAGE} characters"]
    if conversation_id is not None and (conversation_id := parse_id(conversation_id)) is None:
        errors["conversation_id"] = ["must be the id of one of your conversations, or absent to start one"]
    if errors:
        raise ValidationFailed(errors)
    return message.strip(), conversation_id


@routes.get("/api/agents/conversations")
@operation("The caller's conversations with the agents, the latest message first", tag="agents",
           query=PAGINATION, replies=page_reply(CONVERSATION, "one page of conversations"))
async def index(request: web.Request) -> web.Response:
    user = await current_user(request)
    page, page_size = pagination(request)
    found, total = await list_conversations(request.app[DATABASE], user.id, offset=(page - 1) * page_size,
                                            limit=page_size)
    return data([conversation.to_json() for conversation in found], meta=page_meta(page, page_size, total))


@routes.post("/api/agents/conversations")
@operation("Open an empty conversation (to join agents:<id> before the first message)", tag="agents",
           replies=data_reply(CONVERSATION_DETAIL, "the new conversation", status=201))
async def create(request: web.Request) -> web.Response:
    """An empty conversation, so a client can join its topic before sending the first message."""
    user = await current_user(request)
    conversation = await create_conversation(request.app[DATABASE], user.id)
    return data(conversation.to_json() | {"messages": []}, status=201)


@routes.get("/api/agents/conversations/{id}")
@operation("One of the caller's conversations, every message in order with tool calls and results",
           tag="agents", replies=data_reply(CONVERSATION_DETAIL, "the conversation"))
async def show(request: web.Request) -> web.Response:
    user = await current_user(request)
    database = request.app[DATABASE]
    conversation = await get_conversation(database, user.id, path_id(request))
    if conversation is None:
        raise NotFound("conversation not found")
    messages = await conversation_messages(database, conversation.id)
    return data(conversation.to_json() | {"messages": [message.to_json() for message in messages]})


@routes.delete("/api/agents/conversations/{id}")
@operation("Delete one of the caller's conversations", tag="agents", replies=no_content("deleted"))
async def delete(request: web.Request) -> web.Response:
    user = await current_user(request)
    if not await delete_conversation(request.app[DATABASE], user.id, path_id(request)):
        raise NotFound("conversation not found")
    return web.Response(status=204)


@routes.post("/api/agents/chat")
@operation("Send the Orchestrator a message; the reply streams on agents:<conversation_id>", tag="agents",
           body=CHAT_REQUEST, errors=(404,),
           replies=data_reply(CHAT_REPLY, "the whole reply and the actions its tools took"))
async def chat(request: web.Request) -> web.Response:
    user = await current_user(request)
    text, conversation_id = chat_request(await json_body(request))
    database = request.app[DATABASE]
    if conversation_id is None:
        conversation = await create_conversation(database, user.id, text)
    else:
        conversation = await get_conversation(database, user.id, conversation_id)
        if conversation is None:
            raise NotFound("conversation not found")
    turn, message_id = await chat_turn(request.app, user, conversation.id, text)
    return data({"conversation_id": conversation.id, "message_id": message_id, "reply": turn.reply,
                 "actions": list(turn.actions)})


async def chat_turn(app: web.Application, user: User, conversation_id: int, text: str) -> tuple[Turn, int]:
    """One turn of the conversation, streamed on its topic, then stored whole: (the turn, the reply's id)."""
    database = app[DATABASE]
    history = await conversation_messages(database, conversation_id)
    stream = AgentStream(app[PUBSUB], conversation_id)
    orchestrator = Orchestrator(app, app[CONFIG], app[LLM])
    try:
        turn = await orchestrator.turn(user, history, text, stream)
        stored = await append_messages(database, conversation_id, turn.messages)
    except Exception:
        await stream.error(TURN_FAILED)
        raise
    await stream.done(stored[-1].id)
    return turn, stored[-1].id
