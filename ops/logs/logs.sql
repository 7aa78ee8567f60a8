-- name: job_executor_ids --
-- Executor ids of a job's attempts, newest first (the jobs row holds the current one).
SELECT attempt, executor_job_id
FROM job_attempts
WHERE job_id = %(job_id)s AND executor_job_id IS NOT NULL
UNION
SELECT attempt, executor_job_id
FROM jobs
WHERE id = %(job_id)s AND executor_job_id IS NOT NULL
ORDER BY attempt DESC;

-- name: job_exists --
SELECT 1 FROM jobs WHERE id = %(job_id)s;
