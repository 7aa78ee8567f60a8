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
