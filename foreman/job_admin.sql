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
  AND state IN ('waiting', 'pending', 'dispatched', 'running', 'errored')
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

-- name: array_of_job --
-- The recorded array that carries the job's current attempt (one with more than one member).
SELECT s.token::text, s.executor_job_id, s.size
FROM jobs j
JOIN job_submission_members m ON m.job_id = j.id AND m.attempt = j.attempt
JOIN job_submissions s ON s.token = m.token
WHERE j.id = %(job_id)s AND s.size > 1;

-- name: array_active_members --
-- Members of the array whose attempt is still the job's live one.
SELECT j.id FROM job_submission_members m JOIN jobs j ON j.id = m.job_id AND j.attempt = m.attempt
WHERE m.token = %(token)s AND j.state IN ('dispatched', 'running')
ORDER BY m.array_index;

-- name: cancel_array --
-- Cancel every member still on its attempt in the array, and end those attempts, at once.
WITH cancelled AS (
    UPDATE jobs SET state = 'cancelled', ended_at = now(), failure_reason = %(reason)s
    FROM job_submission_members m
    WHERE m.token = %(token)s AND jobs.id = m.job_id AND jobs.attempt = m.attempt
      AND jobs.state IN ('dispatched', 'running')
    RETURNING jobs.id, jobs.attempt
),
ended AS (
    UPDATE job_attempts a SET ended_at = now(), outcome = 'cancelled', reason = %(reason)s
    FROM cancelled c
    WHERE a.job_id = c.id AND a.attempt = c.attempt AND a.ended_at IS NULL
)
SELECT id FROM cancelled ORDER BY id;
