-- name: files_with_active_downloads --
-- Files a download job may still resume: their partial downloads are not leftovers.
SELECT DISTINCT (payload->>'file_id')::bigint
  FROM jobs
 WHERE kind = 'download' AND state IN ('pending', 'dispatched', 'running', 'errored')
   AND payload ? 'file_id' AND payload->>'file_id' ~ '^[0-9]+$';
