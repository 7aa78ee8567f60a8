-- Jobs: survey, download and process work, dispatched by the foreman to an executor.
--
-- States: pending -> dispatched -> running -> succeeded
--                                         \-> errored -> pending (retry, next memory tier)
--                                                     \-> failed (gave up, with a reason)
--         any unfinished state -> cancelled
-- A worker only ever moves its own job to running, succeeded or errored; the foreman decides
-- what an error means.

CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('survey', 'download', 'process')),
    queue text NOT NULL DEFAULT 'default',
    state text NOT NULL DEFAULT 'pending' CHECK (
        state IN ('pending', 'dispatched', 'running', 'succeeded', 'errored', 'failed', 'cancelled')
    ),
    payload jsonb NOT NULL DEFAULT '{}',
    dedupe_key text UNIQUE,
    attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    memory_tier integer NOT NULL DEFAULT 0 CHECK (memory_tier >= 0),
    executor text,
    executor_job_id text,
    worker_id text,
    heartbeat_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz,
    started_at timestamptz,
    ended_at timestamptz,
    failure_reason text,
    parent_job_id bigint REFERENCES jobs (id),
    result jsonb
);
CREATE INDEX jobs_pending_idx ON jobs (queue, id) WHERE state = 'pending';
CREATE INDEX jobs_active_idx ON jobs (state) WHERE state IN ('dispatched', 'running', 'errored');
CREATE INDEX jobs_parent_idx ON jobs (parent_job_id);

-- One row per attempt, so a job's history survives its retries.
CREATE TABLE job_attempts (
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    memory_tier integer NOT NULL,
    executor_job_id text,
    worker_id text,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    outcome text CHECK (outcome IN ('succeeded', 'errored', 'lost', 'cancelled')),
    reason text,
    PRIMARY KEY (job_id, attempt)
);

-- Wake sleeping foremen when work arrives; once per statement so bulk inserts stay cheap.
CREATE FUNCTION notify_jobs_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('refinery_jobs', 'inserted');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_inserted_notify
AFTER INSERT ON jobs
FOR EACH STATEMENT EXECUTE FUNCTION notify_jobs_inserted();

-- Each foreman process writes its heartbeat here; monitoring reads the leader's beat_at.
CREATE TABLE foreman_heartbeats (
    foreman_id text PRIMARY KEY,
    hostname text NOT NULL,
    pid integer NOT NULL,
    version text NOT NULL DEFAULT '',
    role text NOT NULL CHECK (role IN ('leader', 'standby', 'stopped')),
    started_at timestamptz NOT NULL DEFAULT now(),
    beat_at timestamptz NOT NULL DEFAULT now(),
    dispatched_total bigint NOT NULL DEFAULT 0
);
