-- name: insert_job --
-- A job that depends on another waits, unless that one has already succeeded (or, for a job
-- that needs only its end, ended any way).
INSERT INTO jobs (kind, queue, payload, parent_job_id, dedupe_key, max_attempts, memory_tier,
                  depends_on, needs_success, state)
VALUES (%(kind)s, %(queue)s, %(payload)s, %(parent_job_id)s, %(dedupe_key)s,
        %(max_attempts)s, %(memory_tier)s, %(depends_on)s, %(needs_success)s,
        CASE WHEN %(depends_on)s::bigint IS NULL
                  OR (SELECT state = 'succeeded' OR (NOT %(needs_success)s
                                                     AND state IN ('failed', 'cancelled'))
                      FROM jobs WHERE id = %(depends_on)s)
             THEN 'pending' ELSE 'waiting' END)
ON CONFLICT (dedupe_key) DO UPDATE SET dedupe_key = EXCLUDED.dedupe_key
RETURNING id, (xmax = 0) AS inserted;

-- name: select_job --
SELECT * FROM jobs WHERE id = %(job_id)s;

-- name: start_attempt --
UPDATE jobs
SET state = 'running', worker_id = %(worker_id)s, started_at = now(), heartbeat_at = now()
WHERE id = %(job_id)s AND attempt = %(attempt)s AND state IN ('dispatched', 'running')
RETURNING *;

-- name: record_attempt_start --
-- The foreman may record the executor's id just before or just after the worker starts; the
-- worker's own view of it (worker_executor_job_id) is kept apart, to compare the two.
INSERT INTO job_attempts (job_id, attempt, memory_tier, executor_job_id, worker_id,
                          worker_executor_job_id)
VALUES (%(job_id)s, %(attempt)s, %(memory_tier)s, %(executor_job_id)s, %(worker_id)s,
        %(worker_executor_job_id)s)
ON CONFLICT (job_id, attempt) DO UPDATE
SET worker_id = EXCLUDED.worker_id, worker_executor_job_id = EXCLUDED.worker_executor_job_id;

-- name: beat --
UPDATE jobs SET heartbeat_at = now()
WHERE id = %(job_id)s AND attempt = %(attempt)s AND state = 'running'
RETURNING state;

-- name: finish_attempt --
UPDATE jobs
SET state = %(state)s, ended_at = now(), result = %(result)s, failure_reason = %(reason)s,
    permanent = %(permanent)s
WHERE id = %(job_id)s AND attempt = %(attempt)s AND state IN ('dispatched', 'running')
RETURNING id;

-- name: record_attempt_end --
UPDATE job_attempts SET ended_at = now(), outcome = %(outcome)s, reason = %(reason)s
WHERE job_id = %(job_id)s AND attempt = %(attempt)s;
