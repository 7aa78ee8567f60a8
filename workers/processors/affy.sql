-- name: lock_project_arrays --
-- Serialises the decision to process a project's arrays (two CEL files stored at once).
SELECT pg_advisory_xact_lock(hashtext('refinery_affy'), %(project_id)s::integer);

-- name: array_experiments --
-- The project's arrays with a CEL file on one platform, and whether each has it stored.
SELECT e.id, bool_and(f.stored_at IS NOT NULL) AS stored
FROM experiments e
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
LEFT JOIN files f ON f.experiment_id = e.id AND f.kind = 'original'
WHERE i.project_id = %(project_id)s AND e.platform = %(platform)s
  AND e.metadata -> 'array' ->> 'raw' = 'CEL'
GROUP BY e.id
ORDER BY e.id;
