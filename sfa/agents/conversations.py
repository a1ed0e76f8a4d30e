"""Conversations and their messages, always read and written on behalf of their owner.

Every query that takes a ``user_id`` matches it, so another user's conversation is simply absent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg
from pypika import Order, PostgreSQLQuery, Table
from pypika.functions import Coalesce, Count, Now, NullIf
from pypika.terms import Parameter

from sfa.agents.messages import Message, ToolCall
from sfa.db.database import Database

conversations = Table("agent_conversations")
agent_messages = Table("agent_messages")

TITLE_MAX = 80
CONVERSATION_COLUMNS = ("id", "user_id", "title", "inserted_at", "updated_at")
MESSAGE_COLUMNS = ("id", "role", "content", "tool_calls", "tool_call_id", "name", "result", "agent", "provider",
                   "inserted_at")
STORED_COLUMNS = ("conversation_id", "role", "content", "tool_calls", "tool_call_id", "name", "result", "agent",
                  "provider")


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    user_id: int
    title: str
    inserted_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "inserted_at": self.inserted_at.isoformat(),
                "last_message_at": self.updated_at.isoformat()}


def _p(number: int) -> Parameter:
    return Parameter(f"${number}")


def _owned():
    return (conversations.id == _p(1)) & (conversations.user_id == _p(2))


INSERT_CONVERSATION = str(PostgreSQLQuery.into(conversations).columns(conversations.user_id, conversations.title)
                          .insert(_p(1), _p(2)).returning(*CONVERSATION_COLUMNS))
SELECT_CONVERSATION = str(PostgreSQLQuery.from_(conversations).select(*CONVERSATION_COLUMNS).where(_owned()))
SELECT_OWNER = str(PostgreSQLQuery.from_(conversations).select(conversations.user_id)
                   .where(conversations.id == _p(1)))
DELETE_CONVERSATION = str(PostgreSQLQuery.from_(conversations).delete().where(_owned()).returning(conversations.id))
LIST_CONVERSATIONS = str(PostgreSQLQuery.from_(conversations).select(*CONVERSATION_COLUMNS)
                         .where(conversations.user_id == _p(1))
                         .orderby(conversations.updated_at, order=Order.desc)
                         .orderby(conversations.id, order=Order.desc).limit(_p(2)).offset(_p(3)))
COUNT_CONVERSATIONS = str(PostgreSQLQuery.from_(conversations).select(Count("*"))
                          .where(conversations.user_id == _p(1)))
# A conversation's title is its first message, set once; every message moves it to the top of the list.
TOUCH_CONVERSATION = str(PostgreSQLQuery.update(conversations)
                         .set(conversations.title, Coalesce(NullIf(conversations.title, ""), _p(2)))
                         .set(conversations.updated_at, Now()).where(conversations.id == _p(1)))
SELECT_MESSAGES = str(PostgreSQLQuery.from_(agent_messages).select(*MESSAGE_COLUMNS)
                      .where(agent_messages.conversation_id == _p(1)).orderby(agent_messages.id))
INSERT_MESSAGE = str(PostgreSQLQuery.into(agent_messages).columns(*STORED_COLUMNS)
                     .insert(*(_p(n) for n in range(1, len(STORED_COLUMNS) + 1)))
                     .returning(agent_messages.id, agent_messages.inserted_at))


def title_for(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_MAX else line[:TITLE_MAX - 1].rstrip() + "…"


async def create_conversation(database: Database, user_id: int, title: str = "") -> Conversation:
    async with database.pool.acquire() as conn:
        return Conversation(**dict(await conn.fetchrow(INSERT_CONVERSATION, user_id, title_for(title))))


async def get_conversation(database: Database, user_id: int, conversation_id: int) -> Conversation | None:
    async with database.pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_CONVERSATION, conversation_id, user_id)
    return None if row is None else Conversation(**dict(row))


async def conversation_owner(database: Database, conversation_id: int) -> int | None:
    async with database.pool.acquire() as conn:
        return await conn.fetchval(SELECT_OWNER, conversation_id)


async def list_conversations(database: Database, user_id: int, *, offset: int,
                             limit: int) -> tuple[list[Conversation], int]:
    """The owner's conversations, the one with the latest message first."""
    async with database.pool.acquire() as conn:
        rows = await conn.fetch(LIST_CONVERSATIONS, user_id, limit, offset)
        total = await conn.fetchval(COUNT_CONVERSATIONS, user_id)
    return [Conversation(**dict(row)) for row in rows], total


async def delete_conversation(database: Database, user_id: int, conversation_id: int) -> bool:
    async with database.pool.acquire() as conn:
        return await conn.fetchval(DELETE_CONVERSATION, conversation_id, user_id) is not None


async def conversation_messages(database: Database, conversation_id: int) -> list[Message]:
    async with database.pool.acquire() as conn:
        rows = await conn.fetch(SELECT_MESSAGES, conversation_id)
    return [_message(row) for row in rows]


async def append_messages(database: Database, conversation_id: int, messages: Sequence[Message]) -> list[Message]:
    """Store ``messages`` after the conversation's others, all or none (one transaction); they come back
    with their ids. The first user message becomes the title of a conversation that has none."""
    title = next((title_for(m.content) for m in messages if m.role == "user"), "")
    stored = []
    async with database.pool.acquire() as conn, conn.transaction():
        for message in messages:
            row = await conn.fetchrow(INSERT_MESSAGE, conversation_id, *_stored_values(message))
            stored.append(replace(message, id=row["id"], inserted_at=row["inserted_at"]))
        await conn.execute(TOUCH_CONVERSATION, conversation_id, title)
    return stored


def _stored_values(message: Message) -> tuple[Any, ...]:
    return (message.role, message.content, json.dumps([call.to_json() for call in message.tool_calls]),
            message.tool_call_id, message.name, None if message.result is None else json.dumps(message.result),
            message.agent, message.provider)


def _message(row: asyncpg.Record) -> Message:
    calls = tuple(ToolCall(call["id"], call["name"], call["arguments"]) for call in json.loads(row["tool_calls"]))
    result = None if row["result"] is None else json.loads(row["result"])
    return Message(row["role"], row["content"], calls, row["tool_call_id"], row["name"], result, row["agent"],
                   row["provider"], row["id"], row["inserted_at"])
