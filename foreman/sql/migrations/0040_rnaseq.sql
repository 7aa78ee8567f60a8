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
