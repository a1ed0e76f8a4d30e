-- Conversations with the agents, per user, and every message of them in order: the user's words, the
-- assistant's replies (with the tool calls it made) and each tool's result. `updated_at` is the time of
-- the last message, which orders a user's conversations newest first.

CREATE TABLE agent_conversations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text NOT NULL DEFAULT '',
    inserted_at timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_conversations_user_idx ON agent_conversations (user_id, updated_at DESC, id DESC);

-- `tool_calls` on an assistant message: [{id, name, arguments}]. A `tool` message answers one of them:
-- `tool_call_id` and `name` say which, `result` holds what the tool returned. `agent` names the specialist
-- that answered and `provider` the LLM it used (`intents` when none did).
CREATE TABLE agent_messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES agent_conversations (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content         text NOT NULL DEFAULT '',
    tool_calls      jsonb NOT NULL DEFAULT '[]',
    tool_call_id    text,
    name            text,
    result          jsonb,
    agent           text,
    provider        text,
    inserted_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_messages_conversation_idx ON agent_messages (conversation_id, id);
