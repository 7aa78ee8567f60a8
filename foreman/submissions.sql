-- name: record_started --
-- Attempts started one by one: the executor ids go on the jobs and into each attempt's history
-- row (the worker may already have created that row when it started), in one round trip.
WITH started (id, attempt, executor_job_id) AS (VALUES %s),
recorded AS (
    UPDATE jobs SET executor_job_id = started.executor_job_id
    FROM started
    WHERE jobs.id = started.id AND jobs.attempt = started.attempt
    RETURNING jobs.id, jobs.attempt, jobs.memory_tier, started.executor_job_id
)
INSERT INTO job_attempts (job_id, attempt, memory_tier, executor_job_id)
SELECT id, attempt, memory_tier, executor_job_id FROM recorded
ON CONFLICT (job_id, attempt) DO UPDATE SET executor_job_id = EXCLUDED.executor_job_id;

-- name: record_submission --
INSERT INTO job_submissions (token, executor, job_name, job_queue, job_definition, size)
VALUES (%(token)s, %(executor)s, %(job_name)s, %(job_queue)s, %(job_definition)s, %(size)s);

-- name: record_members --
INSERT INTO job_submission_members (token, array_index, job_id, attempt) VALUES %s;

-- name: forget_submissions --
-- Groups the executor never took (throttled, refused): their attempts are released or lost.
DELETE FROM job_submissions
WHERE token IN (SELECT (v.token)::uuid FROM (VALUES %s) AS v (token)) AND executor_job_id IS NULL;

-- name: record_group_submitted --
-- The executor took the group: its id goes on the submission, on each member job still on that
-- attempt (a child's id is `<parent>:<index>`) and into each attempt's history row. A member may
-- already have finished: a child can run before the answer is recorded, or long before a
-- successor settles a dead foreman's submission; its history still names the Batch job it ran
-- as. The member jobs are looked up by id: joined to an array's 10,000 members, the planner
-- would walk the whole jobs table (tests/integration/foreman/test_claim_plan.py checks the plan).
WITH submission AS (
    UPDATE job_submissions SET executor_job_id = %(executor_job_id)s, submitted_at = now()
    WHERE token = %(token)s AND executor_job_id IS NULL
    RETURNING token, size
),
members AS (
    SELECT m.job_id, m.attempt,
           CASE WHEN s.size > 1 THEN %(executor_job_id)s || ':' || m.array_index
                ELSE %(executor_job_id)s END AS executor_job_id
    FROM job_submission_members m JOIN submission s USING (token)
),
recorded AS (
    UPDATE jobs SET executor_job_id = members.executor_job_id
    FROM members
    WHERE jobs.id = ANY (ARRAY(SELECT job_id FROM members))
      AND jobs.id = members.job_id AND jobs.attempt = members.attempt
      AND jobs.executor_job_id IS NULL
    RETURNING jobs.id, jobs.attempt, jobs.memory_tier, members.executor_job_id
)
INSERT INTO job_attempts (job_id, attempt, memory_tier, executor_job_id)
SELECT id, attempt, memory_tier, executor_job_id FROM recorded
ON CONFLICT (job_id, attempt) DO UPDATE SET executor_job_id = EXCLUDED.executor_job_id;

-- name: unsubmitted --
-- Submissions recorded but never answered, older than the grace (their foreman died).
SELECT token::text, job_name, job_queue, job_definition, size,
       EXISTS (SELECT 1 FROM job_submission_members m JOIN jobs ON jobs.id = m.job_id
               WHERE m.token = s.token AND jobs.attempt = m.attempt
                 AND jobs.state IN ('dispatched', 'running')) AS awaited
FROM job_submissions s
WHERE executor = %(executor)s AND executor_job_id IS NULL
  AND created_at < now() - make_interval(secs => %(grace)s)
ORDER BY created_at
LIMIT 100;

-- name: resolve_member --
SELECT job_id, attempt FROM job_submission_members
WHERE token = %(token)s AND array_index = %(index)s;
