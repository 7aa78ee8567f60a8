-- The current schema in one file. Migrations are the history; this is the result.
-- A test proves that applying every migration gives exactly this schema.

-- The catalog: what data exists, where it came from, and what was computed from it.
-- Every table has a natural unique key so that surveying the same source twice adds nothing.

CREATE TABLE projects (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    accession text NOT NULL,
    title text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, accession)
);

CREATE TABLE individuals (
    id bigserial PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id),
    name text NOT NULL,
    species text NOT NULL DEFAULT '',
    UNIQUE (project_id, name)
);

CREATE TABLE samples (
    id bigserial PRIMARY KEY,
    individual_id bigint NOT NULL REFERENCES individuals (id),
    name text NOT NULL,
    tissue text NOT NULL DEFAULT '',
    metadata jsonb NOT NULL DEFAULT '{}',
    UNIQUE (individual_id, name)
);

CREATE TABLE aliquots (
    id bigserial PRIMARY KEY,
    sample_id bigint NOT NULL REFERENCES samples (id),
    name text NOT NULL,
    UNIQUE (sample_id, name)
);

CREATE TABLE experiments (
    id bigserial PRIMARY KEY,
    aliquot_id bigint NOT NULL REFERENCES aliquots (id),
    accession text NOT NULL UNIQUE,
    library_layout text NOT NULL DEFAULT ''
        CHECK (library_layout IN ('', 'SINGLE', 'PAIRED')),
    platform text NOT NULL DEFAULT '',
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE analyses (
    id bigserial PRIMARY KEY,
    application text NOT NULL,
    application_version text NOT NULL,
    status text NOT NULL DEFAULT 'CREATED'
        CHECK (status IN ('CREATED', 'STARTED', 'FINISHED', 'SUCCEEDED', 'FAILED')),
    run_by text NOT NULL,
    results_location text NOT NULL DEFAULT '',
    results_bytes bigint,
    results_sha256 text,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    sealed_at timestamptz
);

-- The experiments an analysis used (its targets).
CREATE TABLE analysis_targets (
    analysis_id bigint NOT NULL REFERENCES analyses (id),
    experiment_id bigint NOT NULL REFERENCES experiments (id),
    PRIMARY KEY (analysis_id, experiment_id)
);
CREATE INDEX analysis_targets_experiment_idx ON analysis_targets (experiment_id);

-- Original files belong to an experiment; computed files to an analysis. `size_bytes` and
-- `source_md5` are what the source promised; `sha256` and `stored_at` are set once the file
-- is verified in the lake.
CREATE TABLE files (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('original', 'computed')),
    experiment_id bigint REFERENCES experiments (id),
    analysis_id bigint REFERENCES analyses (id),
    name text NOT NULL,
    lake_key text NOT NULL UNIQUE,
    source_url text NOT NULL DEFAULT '',
    size_bytes bigint CHECK (size_bytes >= 0),
    sha256 text,
    source_md5 text,
    created_at timestamptz NOT NULL DEFAULT now(),
    stored_at timestamptz,
    CHECK (
        (kind = 'original' AND experiment_id IS NOT NULL)
        OR (kind = 'computed' AND analysis_id IS NOT NULL)
    )
);
CREATE INDEX files_experiment_idx ON files (experiment_id);
CREATE INDEX files_analysis_idx ON files (analysis_id);

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

-- 0004_foreman
ALTER TABLE jobs SET (fillfactor = 80);
DROP INDEX jobs_parent_idx;
CREATE INDEX jobs_parent_idx ON jobs (parent_job_id) WHERE parent_job_id IS NOT NULL;

-- 0007_lake_users_sealing
-- Users and roles, and protection of sealed results.
--
-- Three group roles (NOLOGIN); a person's login role is a member of one of them:
--   refinery_analyst   reads the catalog, creates analyses and process jobs (runs applications)
--   refinery_engineer  an analyst who also operates jobs
--   refinery_admin     everything, including sealing, forcing re-runs and deleting data
-- Roles belong to the cluster, not the database, so they are created only when absent.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'refinery_analyst') THEN
        CREATE ROLE refinery_analyst NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'refinery_engineer') THEN
        CREATE ROLE refinery_engineer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'refinery_admin') THEN
        CREATE ROLE refinery_admin NOLOGIN;
    END IF;
END
$$;

GRANT refinery_analyst TO refinery_engineer;
GRANT refinery_engineer TO refinery_admin;

GRANT USAGE ON SCHEMA public TO refinery_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO refinery_analyst;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO refinery_analyst;
GRANT INSERT, UPDATE, DELETE ON analyses, analysis_targets, files TO refinery_analyst;
GRANT INSERT ON jobs TO refinery_analyst;
-- enqueue_job's ON CONFLICT (dedupe_key) DO UPDATE needs this one column
GRANT UPDATE (dedupe_key) ON jobs TO refinery_analyst;
GRANT INSERT, UPDATE, DELETE ON jobs, job_attempts, foreman_heartbeats TO refinery_engineer;
GRANT ALL ON ALL TABLES IN SCHEMA public TO refinery_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO refinery_admin;

-- Whether the current role may change sealed results: admins (and superusers, who are members
-- of every role), and the platform's own role, which is not in any of the groups.
CREATE FUNCTION refinery_may_change_sealed() RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(current_user, 'refinery_admin', 'MEMBER')
        OR NOT pg_has_role(current_user, 'refinery_analyst', 'MEMBER')
$$;

-- A SUCCEEDED analysis is sealed: only admins alter or delete it, and only admins seal.
CREATE FUNCTION protect_sealed_analyses() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF refinery_may_change_sealed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'SUCCEEDED' THEN
        RAISE EXCEPTION 'analysis % is sealed (SUCCEEDED): only an admin may change it', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'SUCCEEDED' THEN
        RAISE EXCEPTION 'only an admin may seal an analysis (set it SUCCEEDED)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER analyses_protect_sealed
    BEFORE INSERT OR UPDATE OR DELETE ON analyses
    FOR EACH ROW EXECUTE FUNCTION protect_sealed_analyses();

-- Files and target links of a sealed analysis are as protected as the analysis itself.
CREATE FUNCTION protect_sealed_children() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    old_analysis bigint;
    new_analysis bigint;
BEGIN
    IF refinery_may_change_sealed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_analysis := OLD.analysis_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        new_analysis := NEW.analysis_id;
    END IF;
    IF EXISTS (
        SELECT FROM analyses
         WHERE id IN (old_analysis, new_analysis) AND status = 'SUCCEEDED'
    ) THEN
        RAISE EXCEPTION 'results of sealed analysis % are read-only: only an admin may change them',
            coalesce(old_analysis, new_analysis)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_TABLE_NAME = 'files' AND TG_OP IN ('UPDATE', 'DELETE') AND OLD.kind = 'original' THEN
        RAISE EXCEPTION 'original files belong to imported data: only an admin may change them'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER files_protect_sealed
    BEFORE INSERT OR UPDATE OR DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION protect_sealed_children();
CREATE TRIGGER analysis_targets_protect_sealed
    BEFORE INSERT OR UPDATE OR DELETE ON analysis_targets
    FOR EACH ROW EXECUTE FUNCTION protect_sealed_children();

-- 0010_permanent_failures
ALTER TABLE jobs ADD COLUMN permanent boolean NOT NULL DEFAULT false;
ALTER TABLE jobs ADD COLUMN retry_base_attempt integer NOT NULL DEFAULT 0
    CHECK (retry_base_attempt >= 0);
