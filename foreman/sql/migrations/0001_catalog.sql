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
