-- Accounts: users with a role and a status, hashed API tokens, browser sessions, and the audit trail of
-- admin actions.

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL,
    hashed_password text,
    role            text NOT NULL DEFAULT 'user'
                    CHECK (role IN ('user', 'pro', 'enterprise', 'admin', 'super_admin')),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    inserted_at     timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    -- SHA-256 of the secret: tokens are long random strings, so a fast hash is enough to look them up.
    token_hash   bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    inserted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

-- One row per logged-in browser; the encrypted cookie carries the secret whose hash is the key, so logging
-- out (or a suspension) ends the session everywhere.
CREATE TABLE user_sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    inserted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_sessions_user_id_idx ON user_sessions (user_id);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id    bigint REFERENCES users (id) ON DELETE SET NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    changes     jsonb NOT NULL DEFAULT '{}',
    inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_inserted_at_idx ON audit_log (inserted_at DESC);
