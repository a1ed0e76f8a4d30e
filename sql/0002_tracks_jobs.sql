-- Tracks, their stems and analysis results, and the durable job queue that works on them.
-- Files live under SFA_DATA_DIR at paths named by ids; `path` columns hold that relative path.

CREATE TABLE tracks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text NOT NULL,
    artist      text,
    source      text NOT NULL CHECK (source IN ('upload', 'url', 'spotify')),
    source_url  text,
    path        text,
    format      text,
    file_size   bigint,
    duration_s  double precision,
    sample_rate integer,
    channels    smallint,
    bpm         double precision CHECK (bpm BETWEEN 20 AND 300),
    key         text,
    tags        text[] NOT NULL DEFAULT '{}',
    inserted_at timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tracks_user_id_idx ON tracks (user_id, id DESC);

CREATE TABLE stems (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    track_id    bigint NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    job_id      bigint,
    name        text NOT NULL,
    model       text,
    path        text NOT NULL,
    file_size   bigint,
    inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stems_track_id_idx ON stems (track_id);

CREATE TABLE analysis_results (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    track_id    bigint NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    job_id      bigint,
    result      jsonb NOT NULL,
    inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analysis_results_track_id_idx ON analysis_results (track_id, id DESC);

-- One row per job for its whole life. `state` is the queue's own state; clients see it through
-- sfa.jobs.states (a running download reads "downloading"). `attempt` counts claims; `errors` gets one
-- {attempt, at, error} object appended per failed attempt. `node` and `heartbeat_at` are the lease of the
-- process running it: a running job whose heartbeat is older than the lease is rescued.
CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_id     bigint REFERENCES tracks (id) ON DELETE SET NULL,
    kind         text NOT NULL,
    queue        text NOT NULL,
    args         jsonb NOT NULL DEFAULT '{}',
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    priority     smallint NOT NULL DEFAULT 0,
    progress     smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    message      text NOT NULL DEFAULT '',
    attempt      integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    errors       jsonb NOT NULL DEFAULT '[]',
    result       jsonb,
    node         text,
    heartbeat_at timestamptz,
    run_at       timestamptz NOT NULL DEFAULT now(),
    inserted_at  timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- The claim query's order: priority, schedule, id, among the queued jobs of one queue.
CREATE INDEX jobs_claim_idx ON jobs (queue, priority, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (heartbeat_at) WHERE state = 'running';
CREATE INDEX jobs_user_id_idx ON jobs (user_id, id DESC);
CREATE INDEX jobs_track_id_idx ON jobs (track_id);
CREATE INDEX jobs_finished_at_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
-- No two pending jobs for the same track, kind and parameters (md5: args may be larger than a btree entry).
CREATE UNIQUE INDEX jobs_pending_unique_idx ON jobs (track_id, kind, md5(args::text)) WHERE state = 'queued';
