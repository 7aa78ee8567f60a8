-- name: finished_analyses --
SELECT id, run_by, application
  FROM analyses
 WHERE status = 'FINISHED'
 ORDER BY id
   FOR UPDATE SKIP LOCKED;

-- name: computed_files --
SELECT id, lake_key, size_bytes, sha256
  FROM files
 WHERE analysis_id = %(analysis_id)s AND kind = 'computed' AND stored_at IS NOT NULL
 ORDER BY lake_key;

-- name: record_file_checksum --
UPDATE files SET sha256 = %(sha256)s, size_bytes = %(size)s WHERE id = %(id)s;

-- name: mark_sealed --
UPDATE analyses
   SET status = 'SUCCEEDED', sealed_at = now(), results_bytes = %(bytes)s,
       results_sha256 = %(sha256)s, results_location = %(location)s,
       metadata = metadata || jsonb_build_object('sealed_by', %(bot)s::text)
 WHERE id = %(analysis_id)s AND status = 'FINISHED';

-- name: existing_experiments --
SELECT id FROM experiments WHERE id = ANY(%(ids)s);

-- name: experiments_not_stored --
-- Experiments a process job could not run on yet: no original file, or one not yet stored.
SELECT e.accession, count(f.id) AS files, count(f.id) FILTER (WHERE f.stored_at IS NULL) AS unstored
  FROM experiments AS e
  LEFT JOIN files AS f ON f.experiment_id = e.id AND f.kind = 'original'
 WHERE e.id = ANY(%(ids)s)
 GROUP BY e.id, e.accession
HAVING count(f.id) = 0 OR count(f.id) FILTER (WHERE f.stored_at IS NULL) > 0
 ORDER BY e.id;

-- name: succeeded_same_run --
SELECT a.id
  FROM analyses AS a
 WHERE a.application = %(application)s AND a.status = 'SUCCEEDED'
   AND NOT a.metadata ? 'trashed_to'
   AND ARRAY(SELECT t.experiment_id FROM analysis_targets AS t
              WHERE t.analysis_id = a.id ORDER BY 1) = %(ids)s::bigint[]
 ORDER BY a.id;

-- name: is_admin --
-- admins, superusers, and the platform's own role (in none of the groups)
SELECT refinery_may_change_sealed();

-- name: mark_trashed --
UPDATE analyses
   SET results_location = %(trash)s,
       metadata = metadata || jsonb_build_object('trashed_to', %(trash)s::text,
                                                 'trashed_at', now()::text)
 WHERE id = %(analysis_id)s;

-- name: unstore_trashed_files --
UPDATE files
   SET stored_at = NULL, lake_key = %(trash)s || substr(lake_key, length(%(prefix)s) + 1)
 WHERE analysis_id = %(analysis_id)s AND kind = 'computed' AND lake_key LIKE %(prefix)s || '%%';
