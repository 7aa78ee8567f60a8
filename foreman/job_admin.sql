-- name: counts --
SELECT kind, state, count(*) AS jobs
FROM jobs
WHERE (%(state)s::text IS NULL OR state = %(state)s) AND (%(kind)s::text IS NULL OR kind = %(kind)s)
GROUP BY kind, state
ORDER BY kind, state;

-- name: recent_failures --
SELECT id, kind, queue, attempt, ended_at, failure_reason
FROM jobs
WHERE state = 'failed' AND (%(kind)s::text IS NULL OR kind = %(kind)s)
ORDER BY ended_at DESC NULLS LAST, id DESC
LIMIT %(limit)s;

-- name: retry_one --
-- Fresh attempts, and the retry delay starts over from its shortest (retry_base_attempt).
UPDATE jobs
SET state = 'pending', max_attempts = attempt + %(attempts)s, failure_reason = NULL,
    ended_at = NULL, executor_job_id = NULL, worker_id = NULL, permanent = false,
    retry_base_attempt = attempt
WHERE id = %(job_id)s AND state IN ('failed', 'cancelled')
RETURNING id;

-- name: retry_all_failed --
UPDATE jobs
SET state = 'pending', max_attempts = attempt + %(attempts)s, failure_reason = NULL,
    ended_at = NULL, executor_job_id = NULL, worker_id = NULL, permanent = false,
    retry_base_attempt = attempt
WHERE state = 'failed'
RETURNING id;

-- name: cancel --
UPDATE jobs SET state = 'cancelled', ended_at = now(), failure_reason = %(reason)s
WHERE id = %(job_id)s AND attempt = %(attempt)s
  AND state IN ('pending', 'dispatched', 'running', 'errored')
RETURNING id;

-- name: record_cancelled_attempt --
UPDATE job_attempts SET ended_at = now(), outcome = 'cancelled', reason = %(reason)s
WHERE job_id = %(job_id)s AND attempt = %(attempt)s AND ended_at IS NULL;

-- name: notify --
SELECT pg_notify('refinery_jobs', 'retried');

-- name: foremen --
SELECT foreman_id, role, extract(epoch FROM now() - beat_at)::float AS seconds_since_beat,
       dispatched_total, api_usage
FROM foreman_heartbeats
WHERE role <> 'stopped'
ORDER BY role, beat_at DESC;
