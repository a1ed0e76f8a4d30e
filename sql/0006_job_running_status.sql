-- How a running job reads to clients ("downloading" or "processing"), written at enqueue from its kind's
-- declaration (sfa.jobs.kinds), as the queue is: a row reads the same on every node, whatever kinds that
-- node runs.
ALTER TABLE jobs ADD COLUMN running_status text NOT NULL DEFAULT 'processing'
    CHECK (running_status IN ('downloading', 'processing'));
UPDATE jobs SET running_status = 'downloading' WHERE kind = 'download';
