-- name: affy_job --
-- The affy job of one series (by its project's accession): its state, when the foreman claimed
-- it, why it failed, and its result.
SELECT j.state, extract(epoch FROM j.dispatched_at)::float8, j.failure_reason, j.result
FROM jobs j
JOIN projects p ON p.id = (j.payload ->> 'project_id')::bigint
WHERE j.kind = 'process' AND j.payload ? 'project_id' AND j.payload ->> 'application' = 'affy'
  AND p.accession = %(project)s
ORDER BY j.id DESC LIMIT 1;
