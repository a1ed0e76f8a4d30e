-- PubSub: bodies of broadcasts too big for one NOTIFY (PostgreSQL caps a payload below 8000 bytes).
-- The NOTIFY then carries only the row's id; listeners read the body, and rows older than a few minutes
-- are deleted by the next large publish.

CREATE TABLE pubsub_payloads (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body        text NOT NULL,
    inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pubsub_payloads_inserted_at_idx ON pubsub_payloads (inserted_at);
