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
