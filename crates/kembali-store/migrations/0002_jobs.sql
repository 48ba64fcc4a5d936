-- Background jobs: enqueued in the transaction of the change that causes them,
-- claimed with FOR UPDATE SKIP LOCKED, retried with back-off, parked as `dead`.
-- shop_id is NULL only for the few jobs that belong to no shop.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    shop_id      TEXT,
    kind         TEXT NOT NULL,
    payload      JSONB NOT NULL,
    state        TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    locked_by    TEXT,
    locked_until BIGINT,
    last_error   TEXT,
    dedupe_key   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
-- What workers look for: due queued jobs, and running jobs whose lease ran out.
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, locked_until);
-- The same scheduled work is never queued twice while it is pending.
CREATE UNIQUE INDEX jobs_dedupe ON jobs (COALESCE(shop_id, ''), kind, dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');
