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
