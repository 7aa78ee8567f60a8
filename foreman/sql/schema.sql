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

-- 0015_projects_imports
-- Projects set up on purpose (an owner, and the metadata schema version their records
-- follow), and every import recorded with the schema version it followed. Samples and
-- experiments point at the import that created them; individuals gain merged metadata.
ALTER TABLE projects
    ADD COLUMN owner text NOT NULL DEFAULT '',
    ADD COLUMN metadata_schema_version integer NOT NULL DEFAULT 1
        CHECK (metadata_schema_version >= 1);

-- One row per (project, kind, version, origin): surveying the same sheet again adds nothing.
CREATE TABLE imports (
    id bigserial PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id),
    kind text NOT NULL CHECK (kind IN ('sample_sheet', 'metadata_record')),
    schema_version integer NOT NULL CHECK (schema_version >= 1),
    origin text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, kind, schema_version, origin)
);

ALTER TABLE individuals ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
ALTER TABLE samples ADD COLUMN import_id bigint REFERENCES imports (id);
ALTER TABLE experiments ADD COLUMN import_id bigint REFERENCES imports (id);
CREATE INDEX samples_import_idx ON samples (import_id) WHERE import_id IS NOT NULL;
CREATE INDEX experiments_import_idx ON experiments (import_id) WHERE import_id IS NOT NULL;

GRANT SELECT ON imports TO refinery_analyst;
GRANT USAGE, SELECT ON SEQUENCE imports_id_seq TO refinery_analyst;
GRANT ALL ON imports TO refinery_admin;
GRANT ALL ON SEQUENCE imports_id_seq TO refinery_admin;

-- 0016_metadata_sync
-- Metadata pulled from the institution's records (REDCap): every sync run, the last fields
-- each record gave, and the records held back because they broke the project's schema.
CREATE TABLE metadata_sync_runs (
    id bigserial PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id),
    source text NOT NULL,
    schema_version integer NOT NULL,
    executed boolean NOT NULL,
    state text NOT NULL DEFAULT 'running'
        CHECK (state IN ('running', 'applied', 'dry-run', 'failed')),
    -- records changed since `since` were fetched (NULL: every record); the next run starts
    -- from this run's `watermark` minus the overlap window
    since timestamptz,
    watermark timestamptz NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    summary jsonb NOT NULL DEFAULT '{}',
    error text
);
CREATE INDEX metadata_sync_runs_project_idx ON metadata_sync_runs (project_id, source, id);

-- What each record last said, so a sync changes exactly the fields that changed. A record
-- gone from the source keeps its row, marked removed, and is reported by every run.
CREATE TABLE metadata_records (
    project_id bigint NOT NULL REFERENCES projects (id),
    source text NOT NULL,
    record_id text NOT NULL,
    sample_id bigint NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    fields jsonb NOT NULL,
    run_id bigint NOT NULL REFERENCES metadata_sync_runs (id),
    synced_at timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz,
    PRIMARY KEY (project_id, source, record_id)
);
CREATE INDEX metadata_records_sample_idx ON metadata_records (sample_id);

CREATE TABLE metadata_quarantine (
    project_id bigint NOT NULL REFERENCES projects (id),
    source text NOT NULL,
    record_id text NOT NULL,
    record jsonb NOT NULL,
    reasons jsonb NOT NULL,
    schema_version integer NOT NULL,
    run_id bigint NOT NULL REFERENCES metadata_sync_runs (id),
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, source, record_id)
);

GRANT SELECT ON metadata_sync_runs, metadata_records, metadata_quarantine TO refinery_analyst;
GRANT ALL ON metadata_sync_runs, metadata_records, metadata_quarantine TO refinery_admin;
GRANT USAGE, SELECT ON SEQUENCE metadata_sync_runs_id_seq TO refinery_analyst;
GRANT ALL ON SEQUENCE metadata_sync_runs_id_seq TO refinery_admin;

-- 0030_batch_submissions
-- Batch at scale: submissions grouped into arrays, made idempotent by a client-side token.
--
-- The foreman records a submission (its token and the attempts it carries, one per array
-- index) in the same transaction as the claim, before it calls the executor; the executor's
-- id is recorded once the call answers. A foreman that dies in between leaves a submission
-- without an executor id: its successor asks the executor for the job named after the token
-- and records it, or submits it then (same token), so no attempt runs twice or is lost.
-- A worker started as a child of an array finds its attempt here from its array index.
CREATE TABLE job_submissions (
    token uuid PRIMARY KEY,
    executor text NOT NULL,
    job_name text NOT NULL,
    job_queue text NOT NULL,
    job_definition text NOT NULL,
    size integer NOT NULL CHECK (size >= 1),
    executor_job_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    submitted_at timestamptz
);
CREATE INDEX job_submissions_unsubmitted_idx ON job_submissions (created_at)
    WHERE executor_job_id IS NULL;

CREATE TABLE job_submission_members (
    token uuid NOT NULL REFERENCES job_submissions (token) ON DELETE CASCADE,
    array_index integer NOT NULL CHECK (array_index >= 0),
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    PRIMARY KEY (token, array_index)
);
CREATE INDEX job_submission_members_job_idx ON job_submission_members (job_id, attempt);

-- The Batch API budget as the leader last saw it: calls per API in the last minute, throttles.
ALTER TABLE foreman_heartbeats ADD COLUMN api_usage jsonb NOT NULL DEFAULT '{}';

GRANT SELECT ON job_submissions, job_submission_members TO refinery_analyst;
GRANT INSERT, UPDATE, DELETE ON job_submissions, job_submission_members TO refinery_engineer;
GRANT ALL ON job_submissions, job_submission_members TO refinery_admin;
