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

-- Wake sleeping foremen when work arrives; once per statement so bulk inserts stay cheap, and
-- only when the statement inserted a job (an INSERT … SELECT of nothing wakes nobody).
CREATE FUNCTION notify_jobs_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted_jobs) THEN
        PERFORM pg_notify('refinery_jobs', 'inserted');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_inserted_notify
AFTER INSERT ON jobs
REFERENCING NEW TABLE AS inserted_jobs
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
-- 0020_metrics

-- A failure reason with what varies between occurrences taken out (paths, ids, numbers), so
-- that ten thousand failures of one cause are one line. One definition, used by the metrics,
-- the live view and the console's reason filter alike.
CREATE FUNCTION refinery_reason_group(reason text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    line text := btrim(split_part(coalesce(reason, ''), E'\n', 1));
BEGIN
    IF line = '' THEN
        RETURN 'no reason given';
    END IF;
    line := regexp_replace(line, '(s3|https?)://[^[:space:]''"]+', '<url>', 'g');
    line := regexp_replace(line, '(~|\.{1,2})?(/[^[:space:]/:''",;]+){2,}/?', '<path>', 'g');
    line := regexp_replace(
        line, '[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}', '<id>', 'g');
    -- hex tokens of 6+ characters with a digit and a letter: hashes, container and job ids
    line := regexp_replace(
        line, '\m(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}\M', '<id>', 'g');
    line := regexp_replace(line, '[0-9]+([.:,][0-9]+)*', '<n>', 'g');
    line := regexp_replace(line, '[[:space:]]+', ' ', 'g');
    RETURN left(line, 200);
END
$$;

-- One row per minute and (queue, kind): the gauges as they stood and the counters' totals,
-- written by the leading foreman once a minute and kept for 30 days. Throughput over a
-- minute is the difference of two consecutive rows' totals.
CREATE TABLE metrics_minutes (
    minute timestamptz NOT NULL,
    queue text NOT NULL,
    kind text NOT NULL,
    pending integer NOT NULL,
    dispatched integer NOT NULL,
    running integer NOT NULL,
    errored integer NOT NULL,
    failed integer NOT NULL,
    capacity integer NOT NULL,
    oldest_pending_seconds double precision NOT NULL,
    stale_heartbeats integer NOT NULL,
    dispatches_total bigint NOT NULL,
    succeeded_total bigint NOT NULL,
    errored_total bigint NOT NULL,
    lost_total bigint NOT NULL,
    cancelled_total bigint NOT NULL,
    duration_bounds double precision[] NOT NULL,
    duration_buckets bigint[] NOT NULL,
    duration_sum_seconds double precision NOT NULL,
    PRIMARY KEY (minute, queue, kind)
);

-- The newest backup as its folder's catalog last showed it, written by whatever took, verified,
-- pruned or restored backups (so a restore that rolls this table back also puts it right).
CREATE TABLE backup_records (
    environment text PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    created_at timestamptz NOT NULL,
    verified boolean,
    verified_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- Every `inv lake.check`: when, whether the lake and the catalog agreed, and how far not.
CREATE TABLE lake_checks (
    id bigserial PRIMARY KEY,
    checked_at timestamptz NOT NULL DEFAULT now(),
    lake text NOT NULL,
    in_sync boolean NOT NULL,
    differences integer NOT NULL,
    catalog_files bigint NOT NULL,
    lake_objects bigint NOT NULL,
    checksums boolean NOT NULL
);
CREATE INDEX lake_checks_checked_at_idx ON lake_checks (checked_at);

GRANT SELECT ON metrics_minutes, backup_records, lake_checks TO refinery_analyst;
GRANT INSERT, UPDATE, DELETE ON metrics_minutes, backup_records, lake_checks TO refinery_engineer;
GRANT USAGE, SELECT ON SEQUENCE lake_checks_id_seq TO refinery_analyst;
GRANT ALL ON metrics_minutes, backup_records, lake_checks TO refinery_admin;

-- 0021_console

-- One token per person (`inv users.add` makes it, `inv users.token` replaces it), kept only
-- as its SHA-256: the token is 32 random bytes, so a fast hash is as strong as a slow one.
CREATE TABLE api_tokens (
    user_name text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('analyst', 'engineer', 'admin')),
    token_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz NOT NULL DEFAULT now()
);
GRANT ALL ON api_tokens TO refinery_admin;

-- What the search finds, one row per project, sample, experiment and analysis: the text
-- weighted by field (A names and accessions, B tissue, species, application and status,
-- C the free-form metadata, D the rest) and the facets to count. Rows are rewritten by the
-- triggers below in the same transaction as the change, so the index is never behind.
CREATE TABLE search_documents (
    entity text NOT NULL CHECK (entity IN ('project', 'sample', 'experiment', 'analysis')),
    entity_id bigint NOT NULL,
    title text NOT NULL,
    subtitle text NOT NULL DEFAULT '',
    project text NOT NULL DEFAULT '',
    tissue text NOT NULL DEFAULT '',
    application text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT '',
    document tsvector NOT NULL,
    PRIMARY KEY (entity, entity_id)
);
CREATE INDEX search_documents_document_idx ON search_documents USING gin (document);

-- The text of jsonb metadata: its string and number values (keys say little to a searcher).
CREATE FUNCTION refinery_metadata_text(metadata jsonb) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_to_tsvector('english', coalesce(metadata, '{}'), '["string", "numeric"]')
$$;

CREATE VIEW search_sources AS
SELECT 'project'::text AS entity, p.id AS entity_id, p.accession AS title,
       p.title AS subtitle, p.accession AS project, ''::text AS tissue,
       ''::text AS application, ''::text AS status,
       setweight(to_tsvector('english', p.accession || ' ' || p.title), 'A')
       || setweight(to_tsvector('english', p.source), 'D') AS document
FROM projects p
UNION ALL
SELECT 'sample', s.id, s.name, i.name || ' · ' || s.tissue, p.accession, s.tissue, '', '',
       setweight(to_tsvector('english', s.name), 'A')
       || setweight(to_tsvector('english', s.tissue || ' ' || i.species), 'B')
       || setweight(refinery_metadata_text(s.metadata), 'C')
       || setweight(to_tsvector('english', i.name || ' ' || p.accession || ' ' || p.title), 'D')
FROM samples s
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
UNION ALL
SELECT 'experiment', e.id, e.accession, s.name || ' · ' || e.library_layout, p.accession,
       s.tissue, '', '',
       setweight(to_tsvector('english', e.accession), 'A')
       || setweight(to_tsvector('english', s.tissue || ' ' || e.platform || ' '
                                           || e.library_layout), 'B')
       || setweight(refinery_metadata_text(e.metadata), 'C')
       || setweight(to_tsvector('english', s.name || ' ' || p.accession), 'D')
FROM experiments e
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
UNION ALL
SELECT 'analysis', an.id, an.application || ' #' || an.id, an.status || ' · ' || an.run_by,
       coalesce(targets.projects, ''), coalesce(targets.tissues, ''), an.application,
       an.status,
       setweight(to_tsvector('english', an.application), 'A')
       || setweight(to_tsvector('english', an.status || ' ' || an.run_by), 'B')
       || setweight(refinery_metadata_text(an.metadata), 'C')
       || setweight(to_tsvector('english', coalesce(targets.words, '')), 'D')
FROM analyses an
LEFT JOIN LATERAL (
    SELECT string_agg(DISTINCT p.accession, ', ') AS projects,
           string_agg(DISTINCT s.tissue, ', ') AS tissues,
           string_agg(e.accession || ' ' || s.name, ' ') AS words
    FROM analysis_targets t
    JOIN experiments e ON e.id = t.experiment_id
    JOIN aliquots a ON a.id = e.aliquot_id
    JOIN samples s ON s.id = a.sample_id
    JOIN individuals i ON i.id = s.individual_id
    JOIN projects p ON p.id = i.project_id
    WHERE t.analysis_id = an.id
) AS targets ON true;

-- Rewrite (or drop) the search rows of some entities from their sources.
CREATE FUNCTION refinery_reindex(kind text, ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    -- joined with unnest (not `= ANY`) so that a bulk insert's many ids hash-join
    DELETE FROM search_documents d
     USING unnest(ids) AS changed (id)
     WHERE d.entity = kind AND d.entity_id = changed.id
       AND NOT EXISTS (SELECT FROM search_sources s
                        WHERE s.entity = kind AND s.entity_id = d.entity_id);
    INSERT INTO search_documents
    SELECT s.* FROM search_sources s JOIN (SELECT DISTINCT unnest(ids) AS id) AS changed
                                       ON s.entity_id = changed.id
     WHERE s.entity = kind
    ON CONFLICT (entity, entity_id) DO UPDATE
    SET title = EXCLUDED.title, subtitle = EXCLUDED.subtitle, project = EXCLUDED.project,
        tissue = EXCLUDED.tissue, application = EXCLUDED.application,
        status = EXCLUDED.status, document = EXCLUDED.document;
END
$$;

-- One trigger function for every source table, per statement (transition tables), so a
-- survey's bulk insert reindexes once, not once per row. A change to a sample also reaches
-- its experiments (their tissue), an individual's its samples (species), and a project's
-- title its samples.
CREATE FUNCTION refinery_search_refresh() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    changed bigint[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        EXECUTE 'SELECT array_agg(' || quote_ident(TG_ARGV[1]) || ') FROM old_rows' INTO changed;
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE 'SELECT array_agg(' || quote_ident(TG_ARGV[1]) || ') FROM new_rows' INTO changed;
    ELSE
        EXECUTE 'SELECT array_agg(' || quote_ident(TG_ARGV[1]) || ') FROM ('
             || 'SELECT ' || quote_ident(TG_ARGV[1]) || ' FROM new_rows UNION '
             || 'SELECT ' || quote_ident(TG_ARGV[1]) || ' FROM old_rows) AS c' INTO changed;
    END IF;
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_ARGV[0] <> 'individual' THEN
        PERFORM refinery_reindex(TG_ARGV[0], changed);
    END IF;
    IF TG_ARGV[0] = 'sample' THEN
        PERFORM refinery_reindex('experiment', ARRAY(
            SELECT e.id FROM experiments e JOIN aliquots a ON a.id = e.aliquot_id
             WHERE a.sample_id = ANY(changed)));
    ELSIF TG_ARGV[0] = 'individual' THEN
        PERFORM refinery_reindex('sample', ARRAY(
            SELECT s.id FROM samples s WHERE s.individual_id = ANY(changed)));
    ELSIF TG_ARGV[0] = 'project' AND TG_OP = 'UPDATE' THEN
        PERFORM refinery_reindex('sample', ARRAY(
            SELECT s.id FROM samples s JOIN individuals i ON i.id = s.individual_id
             WHERE i.project_id = ANY(changed)));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER projects_search_insert AFTER INSERT ON projects
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('project', 'id');
CREATE TRIGGER projects_search_update AFTER UPDATE ON projects
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('project', 'id');
CREATE TRIGGER projects_search_delete AFTER DELETE ON projects
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('project', 'id');
CREATE TRIGGER individuals_search_update AFTER UPDATE ON individuals
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('individual', 'id');
CREATE TRIGGER samples_search_insert AFTER INSERT ON samples
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('sample', 'id');
CREATE TRIGGER samples_search_update AFTER UPDATE ON samples
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('sample', 'id');
CREATE TRIGGER samples_search_delete AFTER DELETE ON samples
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('sample', 'id');
CREATE TRIGGER experiments_search_insert AFTER INSERT ON experiments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('experiment', 'id');
CREATE TRIGGER experiments_search_update AFTER UPDATE ON experiments
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('experiment', 'id');
CREATE TRIGGER experiments_search_delete AFTER DELETE ON experiments
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('experiment', 'id');
CREATE TRIGGER analyses_search_insert AFTER INSERT ON analyses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'id');
CREATE TRIGGER analyses_search_update AFTER UPDATE ON analyses
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'id');
CREATE TRIGGER analyses_search_delete AFTER DELETE ON analyses
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'id');
CREATE TRIGGER analysis_targets_search_insert AFTER INSERT ON analysis_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'analysis_id');
CREATE TRIGGER analysis_targets_search_delete AFTER DELETE ON analysis_targets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'analysis_id');

-- Whatever the catalog held before this migration.
INSERT INTO search_documents SELECT * FROM search_sources;

GRANT SELECT ON search_documents, search_sources TO refinery_analyst;

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

-- 0031_attempt_worker_job_id
-- Which executor job a worker ran as, in the worker's own words (on AWS Batch its
-- AWS_BATCH_JOB_ID, `<parent id>:<index>` for an array child). Beside the executor_job_id the
-- foreman recorded for the attempt, it shows that each child of an array resolved its own job.
ALTER TABLE job_attempts ADD COLUMN worker_executor_job_id text;

-- 0033_sync_interruptions_and_tombstones
-- A metadata sync stopped by Ctrl-C or SIGTERM is recorded as `interrupted`; one whose process
-- died without a word (killed, lost its machine) is found by the next run and recorded as
-- `abandoned`. Both keep their reason in `error`.
ALTER TABLE metadata_sync_runs DROP CONSTRAINT metadata_sync_runs_state_check;
ALTER TABLE metadata_sync_runs ADD CONSTRAINT metadata_sync_runs_state_check
    CHECK (state IN ('running', 'applied', 'dry-run', 'failed', 'interrupted', 'abandoned'));

-- What `inv data.delete` removed: an individual or a sample of a project, by name, so that a
-- metadata sync does not create it again from the source's records. `inv metadata.sync
-- --restore-deleted SAMPLE` brings one back on purpose and sets `restored_at`.
CREATE TABLE deleted_entities (
    id bigserial PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id),
    level text NOT NULL CHECK (level IN ('individual', 'sample')),
    individual text NOT NULL,
    sample text NOT NULL DEFAULT '',  -- '' for an individual
    experiment text NOT NULL,  -- the accession whose deletion removed it
    deleted_at timestamptz NOT NULL DEFAULT now(),
    deleted_by text NOT NULL DEFAULT current_user,
    restored_at timestamptz
);
CREATE INDEX deleted_entities_project_idx ON deleted_entities (project_id, individual, sample)
    WHERE restored_at IS NULL;

GRANT SELECT ON deleted_entities TO refinery_analyst;
GRANT ALL ON deleted_entities TO refinery_admin;
GRANT ALL ON SEQUENCE deleted_entities_id_seq TO refinery_admin;

-- 0045_project_descriptions
-- What a public series says about itself, kept with its project: a GEO series' summary, and
-- its overall design, types, platforms and publications as metadata (surveyed from its SOFT
-- family file; the title already has a column).
ALTER TABLE projects
    ADD COLUMN summary text NOT NULL DEFAULT '',
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';

-- 0040_rnaseq
-- RNA-seq: transcriptome indices, and jobs that wait for another job.
--
-- An `index` job builds a transcriptome index; a job may name the job it depends on
-- (`depends_on`) and is then created `waiting`: the foreman's dispatch never claims it, so it
-- spends no attempt and holds no worker. The foreman makes it `pending` once its dependency
-- succeeded, and fails it with the dependency's reason once that failed or was cancelled.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('survey', 'download', 'process', 'index'));
ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check CHECK (
    state IN ('waiting', 'pending', 'dispatched', 'running', 'succeeded', 'errored', 'failed',
              'cancelled')
);
ALTER TABLE jobs ADD COLUMN depends_on bigint REFERENCES jobs (id);
CREATE INDEX jobs_waiting_idx ON jobs (depends_on) WHERE state = 'waiting';
-- The RNA-seq jobs of a project (its samples' quantifications, its summaries), found by the
-- project id their payload carries.
CREATE INDEX jobs_project_idx ON jobs (((payload ->> 'project_id')::bigint))
    WHERE payload ? 'project_id';

-- One salmon index per (organism, source, release, salmon version), stored once in the lake
-- under `prefix` (`long/` k=31 for reads over 75 bp, `short/` k=23). `release` is Ensembl's
-- release number, or for files given by hand the first 16 hex digits of their sha256.
CREATE TABLE transcriptome_indices (
    id bigserial PRIMARY KEY,
    organism text NOT NULL,
    source text NOT NULL CHECK (source IN ('ensembl', 'files')),
    division text NOT NULL DEFAULT '',
    release text NOT NULL,
    salmon_version text NOT NULL,
    inputs jsonb NOT NULL,
    prefix text NOT NULL UNIQUE,
    state text NOT NULL DEFAULT 'building' CHECK (state IN ('building', 'ready')),
    job_id bigint REFERENCES jobs (id),
    transcripts integer,
    genes integer,
    pseudogene_lines_dropped integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    built_at timestamptz,
    UNIQUE (organism, source, release, salmon_version)
);

GRANT SELECT ON transcriptome_indices TO refinery_analyst;
GRANT INSERT, UPDATE ON transcriptome_indices TO refinery_engineer;
GRANT USAGE, SELECT ON SEQUENCE transcriptome_indices_id_seq TO refinery_analyst;
GRANT ALL ON transcriptome_indices TO refinery_admin;
GRANT ALL ON SEQUENCE transcriptome_indices_id_seq TO refinery_admin;

-- 0050_job_handler
-- A job's handler is decided once, when the job is queued: the name its handler is registered
-- under (an application's name in common/applications.py) — a survey's source, `download`, an
-- index build's `salmon`, a process job's application. The column is generated from the kind
-- and the payload as the row is written (and for every existing row by this statement), so
-- every way of queuing a job — the Python helpers, a failed job's `on_failure` follow-up in
-- SQL — gets it, and the dispatch, the executors and the worker all read this one column.
ALTER TABLE jobs ADD COLUMN handler text NOT NULL GENERATED ALWAYS AS (
    CASE kind
        WHEN 'survey' THEN coalesce(payload ->> 'source', '')
        WHEN 'download' THEN 'download'
        WHEN 'index' THEN 'salmon'
        ELSE coalesce(payload ->> 'application', '')
    END
) STORED;

-- 0060_search_changes

DROP TABLE search_documents;
DROP VIEW search_sources;
DROP FUNCTION refinery_metadata_text(jsonb);

-- One row per changed entity per writing statement. `changed_by` is the writing transaction:
-- a reader that has applied every row of transactions older than its snapshot's xmin can
-- never miss one committed later (a transaction still running then has an xid at or above
-- that xmin), whatever order the rows' transactions commit in.
CREATE TABLE search_changes (
    entity text NOT NULL CHECK (entity IN ('project', 'sample', 'experiment', 'analysis')),
    entity_id bigint NOT NULL,
    changed_by xid8 NOT NULL DEFAULT pg_current_xact_id(),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX search_changes_changed_by_idx ON search_changes (changed_by);
CREATE INDEX search_changes_changed_at_idx ON search_changes (changed_at);

-- The words of jsonb metadata: its string and number values (keys say little to a searcher).
CREATE FUNCTION refinery_metadata_words(metadata jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(value #>> '{}', ' '), '')
      FROM jsonb_path_query(coalesce(metadata, '{}'),
                            'strict $.** ? (@.type() == "string" || @.type() == "number")')
           AS found (value)
$$;

-- An entity's search document: what is shown (title, subtitle), the facets, and its words by
-- weight (names and accessions, then tissue/species/platform/status, then metadata, then the
-- rest: the entities it belongs to).
CREATE VIEW search_texts AS
SELECT 'project'::text AS entity, p.id AS entity_id, p.accession AS title,
       p.title AS subtitle, p.accession AS project, ''::text AS tissue,
       ''::text AS application, ''::text AS status,
       p.accession || ' ' || p.title AS names, ''::text AS traits, ''::text AS metadata,
       p.source AS context
FROM projects p
UNION ALL
SELECT 'sample', s.id, s.name, i.name || ' · ' || s.tissue, p.accession, s.tissue, '', '',
       s.name, s.tissue || ' ' || i.species, refinery_metadata_words(s.metadata),
       i.name || ' ' || p.accession || ' ' || p.title
FROM samples s
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
UNION ALL
SELECT 'experiment', e.id, e.accession, s.name || ' · ' || e.library_layout, p.accession,
       s.tissue, '', '',
       e.accession, s.tissue || ' ' || e.platform || ' ' || e.library_layout,
       refinery_metadata_words(e.metadata), s.name || ' ' || p.accession
FROM experiments e
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
UNION ALL
SELECT 'analysis', an.id, an.application || ' #' || an.id, an.status || ' · ' || an.run_by,
       coalesce(targets.projects, ''), coalesce(targets.tissues, ''), an.application,
       an.status,
       an.application, an.status || ' ' || an.run_by, refinery_metadata_words(an.metadata),
       coalesce(targets.words, '')
FROM analyses an
LEFT JOIN LATERAL (
    SELECT string_agg(DISTINCT p.accession, ', ') AS projects,
           string_agg(DISTINCT s.tissue, ', ') AS tissues,
           string_agg(e.accession || ' ' || s.name, ' ') AS words
    FROM analysis_targets t
    JOIN experiments e ON e.id = t.experiment_id
    JOIN aliquots a ON a.id = e.aliquot_id
    JOIN samples s ON s.id = a.sample_id
    JOIN individuals i ON i.id = s.individual_id
    JOIN projects p ON p.id = i.project_id
    WHERE t.analysis_id = an.id
) AS targets ON true;

-- Called by refinery_search_refresh (migration 0021) with the entities a statement changed.
CREATE OR REPLACE FUNCTION refinery_reindex(kind text, ids bigint[]) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO search_changes (entity, entity_id) SELECT DISTINCT kind, unnest(ids)
$$;

GRANT SELECT ON search_changes, search_texts TO refinery_analyst;

-- 0055_datasets
-- Data out: datasets people ask for, organisms' quantile-normalisation targets and compendia.
--
-- A `dataset` job builds one of them (its payload's `build`: dataset, qn_target or
-- compendium); its row here is written when it is asked for and completed in the
-- transaction that marks the job succeeded, so a killed build leaves the row queued and
-- nothing in the lake under its key.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('survey', 'download', 'process', 'index', 'dataset'));

-- A target is a versioned artefact per organism: version N+1 never replaces N's file.
CREATE TABLE qn_targets (
    id bigserial PRIMARY KEY,
    organism text NOT NULL,
    version integer NOT NULL CHECK (version >= 1),
    job_id bigint REFERENCES jobs (id),
    lake_key text NOT NULL UNIQUE,
    sha256 text NOT NULL,
    samples integer NOT NULL,
    genes integer NOT NULL,
    inputs jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organism, version)
);

-- `request` is what was asked (experiments, samples, the search text, options); `contents`
-- what the archive holds (groups, samples, those left out with their reasons, for a
-- compendium what was imputed and dropped).
CREATE TABLE datasets (
    id bigserial PRIMARY KEY,
    kind text NOT NULL DEFAULT 'dataset' CHECK (kind IN ('dataset', 'compendium')),
    state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'ready')),
    organism text NOT NULL DEFAULT '',
    request jsonb NOT NULL,
    requested_by text NOT NULL,
    job_id bigint REFERENCES jobs (id),
    qn_target_id bigint REFERENCES qn_targets (id),
    archive_key text UNIQUE,
    archive_sha256 text,
    archive_bytes bigint,
    contents jsonb NOT NULL DEFAULT '{}',
    link text,
    link_expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    built_at timestamptz
);
CREATE INDEX datasets_job_idx ON datasets (job_id);

GRANT SELECT ON qn_targets, datasets TO refinery_analyst;
GRANT INSERT, UPDATE ON qn_targets, datasets TO refinery_engineer;
GRANT USAGE, SELECT ON SEQUENCE qn_targets_id_seq, datasets_id_seq TO refinery_analyst;
GRANT ALL ON qn_targets, datasets TO refinery_admin;
GRANT ALL ON SEQUENCE qn_targets_id_seq, datasets_id_seq TO refinery_admin;

-- 0056_dataset_job_handler
ALTER TABLE jobs ALTER COLUMN handler SET EXPRESSION AS (
    CASE kind
        WHEN 'survey' THEN coalesce(payload ->> 'source', '')
        WHEN 'download' THEN 'download'
        WHEN 'index' THEN 'salmon'
        WHEN 'dataset' THEN coalesce(payload ->> 'build', '')
        ELSE coalesce(payload ->> 'application', '')
    END
);

-- 0065_jobs_after_any_end
-- A job may wait for another job's end, whatever its outcome, instead of its success
-- (`needs_success = false`): a sample's QC report runs once its quantification has finished,
-- so the two never read the same reads on the same cores at once, and a failed
-- quantification still gets its QC (the report is how one sees why it failed).
ALTER TABLE jobs ADD COLUMN needs_success boolean NOT NULL DEFAULT true;
