-- Metadata sync: runs, the records' last fields, quarantine, and the merge into the catalog.

-- name: last_watermark --
SELECT watermark FROM metadata_sync_runs
WHERE project_id = %(project_id)s AND source = %(source)s AND state = 'applied'
ORDER BY id DESC LIMIT 1;

-- name: start_run --
INSERT INTO metadata_sync_runs (project_id, source, schema_version, executed, since, watermark)
VALUES (%(project_id)s, %(source)s, %(schema_version)s, %(executed)s, %(since)s, now())
RETURNING id, watermark;

-- name: finish_run --
UPDATE metadata_sync_runs
SET state = %(state)s, finished_at = now(), summary = %(summary)s, error = %(error)s
WHERE id = %(run_id)s;

-- name: recent_runs --
SELECT r.id, p.accession AS project, r.source, r.schema_version, r.executed, r.state,
       r.since, r.watermark, r.started_at, r.finished_at, r.summary, r.error
FROM metadata_sync_runs r JOIN projects p ON p.id = r.project_id
WHERE (%(project_id)s::bigint IS NULL OR r.project_id = %(project_id)s)
ORDER BY r.id DESC LIMIT %(limit)s;

-- name: lock_project --
SELECT pg_try_advisory_xact_lock(%(key)s, %(project_id)s::integer);

-- name: known_records --
SELECT record_id, fields, sample_id, removed_at FROM metadata_records
WHERE project_id = %(project_id)s AND source = %(source)s;

-- name: catalog_samples --
-- Every individual of the project, with each of its samples (or none).
SELECT i.id AS individual_id, i.name AS individual, i.metadata AS individual_metadata,
       s.id AS sample_id, s.name AS sample, s.metadata AS sample_metadata
FROM individuals i
LEFT JOIN samples s ON s.individual_id = i.id
WHERE i.project_id = %(project_id)s;

-- name: open_quarantine --
SELECT q.record_id, q.reasons, q.record, q.schema_version, q.quarantined_at, q.run_id,
       p.accession AS project, q.source
FROM metadata_quarantine q JOIN projects p ON p.id = q.project_id
WHERE (%(project_id)s::bigint IS NULL OR q.project_id = %(project_id)s)
ORDER BY p.accession, q.record_id;

-- name: insert_individual --
INSERT INTO individuals (project_id, name, species, metadata)
VALUES (%(project_id)s, %(name)s, %(species)s, %(metadata)s)
RETURNING id;

-- name: merge_individual_metadata --
UPDATE individuals SET metadata = (metadata || %(set)s) - %(unset)s::text[]
WHERE id = %(id)s;

-- name: insert_sample --
INSERT INTO samples (individual_id, name, tissue, metadata, import_id)
VALUES (%(individual_id)s, %(name)s, %(tissue)s, %(metadata)s, %(import_id)s)
RETURNING id;

-- name: merge_sample_metadata --
UPDATE samples SET metadata = (metadata || %(set)s) - %(unset)s::text[]
WHERE id = %(id)s;

-- name: upsert_record --
INSERT INTO metadata_records (project_id, source, record_id, sample_id, fields, run_id)
VALUES (%(project_id)s, %(source)s, %(record_id)s, %(sample_id)s, %(fields)s, %(run_id)s)
ON CONFLICT (project_id, source, record_id) DO UPDATE
SET sample_id = EXCLUDED.sample_id, fields = EXCLUDED.fields, run_id = EXCLUDED.run_id,
    synced_at = now(), removed_at = NULL;

-- name: mark_removed --
UPDATE metadata_records SET removed_at = now()
WHERE project_id = %(project_id)s AND source = %(source)s
  AND record_id = ANY(%(record_ids)s) AND removed_at IS NULL;

-- name: quarantine_record --
INSERT INTO metadata_quarantine (project_id, source, record_id, record, reasons, schema_version,
                                 run_id)
VALUES (%(project_id)s, %(source)s, %(record_id)s, %(record)s, %(reasons)s, %(schema_version)s,
        %(run_id)s)
ON CONFLICT (project_id, source, record_id) DO UPDATE
SET record = EXCLUDED.record, reasons = EXCLUDED.reasons,
    schema_version = EXCLUDED.schema_version, run_id = EXCLUDED.run_id;

-- name: release_quarantine --
DELETE FROM metadata_quarantine
WHERE project_id = %(project_id)s AND source = %(source)s AND record_id = ANY(%(record_ids)s);

-- name: deleted_entities --
-- What data.delete removed from the project and no sync has restored since.
SELECT level, individual, sample, experiment, deleted_at FROM deleted_entities
WHERE project_id = %(project_id)s AND restored_at IS NULL;

-- name: restore_deleted --
UPDATE deleted_entities SET restored_at = now()
WHERE project_id = %(project_id)s AND restored_at IS NULL
  AND ((level = 'sample' AND sample = ANY(%(samples)s))
       OR (level = 'individual' AND individual = ANY(%(individuals)s)));

-- name: hold_run --
-- Held by the sync's session for as long as it lives: a run whose lock is free is dead.
SELECT pg_advisory_lock(%(key)s, %(run_id)s::integer);

-- name: probe_run --
SELECT pg_try_advisory_lock(%(key)s, %(run_id)s::integer);

-- name: release_run --
SELECT pg_advisory_unlock(%(key)s, %(run_id)s::integer);

-- name: running_runs --
SELECT id FROM metadata_sync_runs
WHERE project_id = %(project_id)s AND source = %(source)s AND state = 'running'
ORDER BY id;

-- name: abandon_run --
UPDATE metadata_sync_runs SET state = 'abandoned', finished_at = now(), error = %(reason)s
WHERE id = %(run_id)s AND state = 'running';

-- name: previous_run --
SELECT id, state, error, started_at FROM metadata_sync_runs
WHERE project_id = %(project_id)s AND source = %(source)s
ORDER BY id DESC LIMIT 1;
