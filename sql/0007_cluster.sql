-- Several nodes on one database: rate limits counted once for all of them, the nodes that are up (and the
-- marker each left in the shared SFA_DATA_DIR), and job counts the admin overview reads without scanning jobs.

-- One fixed window per limited key (`api_auth:user:7`): a hit is one UPSERT. UNLOGGED: counts are worth
-- nothing after a crash, and skipping the WAL makes the write cheap. `reset_at` (unix s) is the end of the
-- window; a hit for a later window starts it again at 1, rows past their end are swept.
CREATE UNLOGGED TABLE rate_limit_windows (
    key      text PRIMARY KEY,
    reset_at bigint NOT NULL,
    hits     integer NOT NULL
);

-- Each running node (web or worker-only), renewed while it lives: a row past `expires_at` (one lease after
-- its last renewal) is of a node gone without stopping. `marker` names the file it wrote under its
-- SFA_DATA_DIR (`.nodes/<marker>`): a node starting finds every live node's marker in its own data dir,
-- or refuses to start, because the nodes do not share the files.
CREATE TABLE cluster_nodes (
    node       text PRIMARY KEY,
    marker     text NOT NULL,
    role       text NOT NULL CHECK (role IN ('web', 'worker')),
    queues     text[] NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- Job counts by queue and state as deltas: every statement on jobs adds one row per (queue, state) it
-- changed (a statement trigger over its transition tables, so a batch of 1,000 completions is one insert,
-- and concurrent writers never wait on a shared counter row). The overview sums them; maintenance folds
-- them into one row per (queue, state) now and then.
CREATE TABLE job_counts (
    queue text NOT NULL,
    state text NOT NULL,
    n     bigint NOT NULL
);
CREATE INDEX job_counts_queue_state_idx ON job_counts (queue, state);

INSERT INTO job_counts (queue, state, n) SELECT queue, state, count(*) FROM jobs GROUP BY queue, state;

CREATE FUNCTION job_counts_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_counts (queue, state, n) SELECT queue, state, count(*) FROM new_rows GROUP BY queue, state;
    RETURN NULL;
END $$;

CREATE FUNCTION job_counts_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_counts (queue, state, n) SELECT queue, state, -count(*) FROM old_rows GROUP BY queue, state;
    RETURN NULL;
END $$;

-- The rows leave their old (queue, state) and enter their new one; what cancels out (progress and heartbeat
-- updates change no state) is not written.
CREATE FUNCTION job_counts_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_counts (queue, state, n)
    SELECT queue, state, sum(n) FROM (
        SELECT queue, state, -1 AS n FROM old_rows
        UNION ALL
        SELECT queue, state, 1 FROM new_rows
    ) AS moved GROUP BY queue, state HAVING sum(n) <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_counts_on_insert();
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_counts_on_delete();
CREATE TRIGGER jobs_count_update AFTER UPDATE ON jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_counts_on_update();

CREATE FUNCTION job_counts_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM job_counts;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_count_truncate AFTER TRUNCATE ON jobs FOR EACH STATEMENT EXECUTE FUNCTION job_counts_on_truncate();

-- The overview's "completed in the last minute" and pruning by age read this range, index only.
CREATE INDEX jobs_completed_idx ON jobs (finished_at, queue) WHERE state = 'completed';
-- The overview's oldest waiting job per queue: the first entry, whatever the priorities.
CREATE INDEX jobs_waiting_idx ON jobs (queue, run_at) WHERE state = 'queued';
