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
