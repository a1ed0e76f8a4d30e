-- Spotify: a user's link to a Spotify account with its provider tokens (encrypted by the server, so a
-- leaked database holds no usable token), the OAuth states in flight, and the Spotify metadata of
-- imported tracks.

CREATE TABLE spotify_links (
    user_id          bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    spotify_user_id  text NOT NULL UNIQUE,
    display_name     text,
    access_token     bytea NOT NULL,
    refresh_token    bytea,
    scope            text NOT NULL DEFAULT '',
    expires_at       timestamptz NOT NULL,
    inserted_at      timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per sign-in started: the callback deletes it, so a state works once and only until it expires.
CREATE TABLE spotify_oauth_states (
    state_hash  bytea PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX spotify_oauth_states_expires_at_idx ON spotify_oauth_states (expires_at);

CREATE TABLE spotify_tracks (
    track_id     bigint PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    spotify_id   text NOT NULL,
    artists      text[] NOT NULL DEFAULT '{}',
    album        text,
    duration_ms  integer,
    isrc         text,
    artwork_url  text
);
-- An import of a track the user already has finds it here instead of adding it again.
CREATE UNIQUE INDEX spotify_tracks_user_spotify_id_key ON spotify_tracks (user_id, spotify_id);
