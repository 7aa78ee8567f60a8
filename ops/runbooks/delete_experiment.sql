-- name: find_experiment --
SELECT e.id, e.accession, e.aliquot_id, a.sample_id, s.individual_id, p.source, p.accession
  FROM experiments AS e
  JOIN aliquots AS a ON a.id = e.aliquot_id
  JOIN samples AS s ON s.id = a.sample_id
  JOIN individuals AS i ON i.id = s.individual_id
  JOIN projects AS p ON p.id = i.project_id
 WHERE e.id::text = %(ref)s OR e.accession = %(ref)s
   FOR UPDATE OF e;

-- name: active_jobs --
SELECT id, kind, state
  FROM jobs
 WHERE state IN ('waiting', 'pending', 'dispatched', 'running', 'errored')
   AND (payload @> jsonb_build_object('experiment_ids', jsonb_build_array(%(id)s::bigint))
        OR payload ->> 'experiment_id' = %(id)s::text
        OR payload ->> 'experiment' = %(accession)s
        OR payload ->> 'experiment_accession' = %(accession)s)
 ORDER BY id;

-- name: analyses_using --
SELECT DISTINCT analysis_id FROM analysis_targets WHERE experiment_id = %(id)s ORDER BY 1;

-- name: files_of_analyses --
SELECT id, lake_key FROM files WHERE analysis_id = ANY(%(ids)s) ORDER BY id;

-- name: files_of_experiment --
SELECT id, lake_key FROM files WHERE experiment_id = %(id)s ORDER BY id;

-- name: other_experiments_of_aliquot --
SELECT count(*) FROM experiments WHERE aliquot_id = %(aliquot)s AND id <> %(id)s;

-- name: other_aliquots_of_sample --
SELECT count(*) FROM aliquots WHERE sample_id = %(sample)s AND id <> %(aliquot)s;

-- name: other_samples_of_individual --
SELECT count(*) FROM samples WHERE individual_id = %(individual)s AND id <> %(sample)s;

-- name: delete_targets --
DELETE FROM analysis_targets WHERE analysis_id = ANY(%(ids)s);

-- name: delete_files --
DELETE FROM files WHERE id = ANY(%(ids)s);

-- name: delete_analyses --
DELETE FROM analyses WHERE id = ANY(%(ids)s);

-- name: delete_experiment --
DELETE FROM experiments WHERE id = %(id)s;

-- name: delete_aliquot --
DELETE FROM aliquots WHERE id = %(id)s;

-- name: delete_sample --
DELETE FROM samples WHERE id = %(id)s;

-- name: delete_individual --
DELETE FROM individuals WHERE id = %(id)s;

-- name: experiment_exists --
SELECT 1 FROM experiments WHERE id = %(id)s;

-- name: may_delete --
SELECT refinery_may_change_sealed();

-- name: remember_deleted --
-- A tombstone for the sample and the individual about to go, so that a metadata sync does not
-- create them again (NULL ids: that level stays, nothing to remember).
INSERT INTO deleted_entities (project_id, level, individual, sample, experiment)
SELECT i.project_id, 'sample', i.name, s.name, %(accession)s
  FROM samples AS s JOIN individuals AS i ON i.id = s.individual_id
 WHERE s.id = %(sample_id)s
UNION ALL
SELECT i.project_id, 'individual', i.name, '', %(accession)s
  FROM individuals AS i
 WHERE i.id = %(individual_id)s;
