-- name: pending_queues --
-- Distinct queues with pending work, by skipping through the pending index (fast on any size).
WITH RECURSIVE queues AS (
    (SELECT queue FROM jobs WHERE state = 'pending' ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT j.queue FROM jobs j
            WHERE j.state = 'pending' AND j.queue > queues.queue ORDER BY j.queue LIMIT 1)
    FROM queues WHERE queues.queue IS NOT NULL
)
SELECT queue FROM queues WHERE queue IS NOT NULL;

-- name: work_remains --
-- Whether a drain (`inv foreman.run --until-idle`) has anything left to do. The first pending
-- job in the pending index's order, not EXISTS: where most rows are pending, EXISTS scans the
-- table from its start, through every finished job, to find the first.
SELECT (SELECT id FROM jobs WHERE state = 'pending' ORDER BY queue, id LIMIT 1) IS NOT NULL
    OR EXISTS (SELECT FROM jobs WHERE state = 'errored')
    OR EXISTS (SELECT FROM jobs WHERE state = 'waiting');

-- name: active_by_queue --
SELECT queue, count(*) FROM jobs WHERE state IN ('dispatched', 'running') GROUP BY queue;

-- name: claim_pending --
-- Claim up to `limit` pending jobs of one queue; concurrent claimers skip each other's rows.
-- Both steps must read only the claimed rows, however long the queue and its history
-- (tests/integration/foreman/test_claim_plan.py checks the plan):
-- - Where most rows are pending, the planner prices walking the primary key and filtering
--   below walking the pending index, as if pending jobs were spread evenly through the table;
--   they sit after the finished ones, which that walk would read on every claim. Ordering by
--   (queue, id) with the queue as an array leaves the pending index the only ordered path.
-- - Joined to a claim of thousands, the update would hash the whole table; looked up by id
--   it reads each claimed row once.
WITH claimed AS MATERIALIZED (
    SELECT id FROM jobs
    WHERE state = 'pending' AND queue = ANY (ARRAY[%(queue)s])
    ORDER BY queue, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE jobs
SET state = 'dispatched', attempt = jobs.attempt + 1, executor = %(executor)s,
    executor_job_id = NULL, worker_id = NULL, heartbeat_at = NULL, dispatched_at = now(),
    started_at = NULL, ended_at = NULL, failure_reason = NULL
WHERE jobs.id = ANY (ARRAY(SELECT id FROM claimed))
RETURNING jobs.id, jobs.kind, jobs.queue, jobs.attempt, jobs.memory_tier, jobs.handler;

-- name: release_claims --
-- The executor could not take these attempts (throttled, unavailable): back to pending as if
-- never claimed — the attempt is not spent and the memory tier stays.
UPDATE jobs
SET state = 'pending', attempt = jobs.attempt - 1, executor = NULL, dispatched_at = NULL
FROM (VALUES %s) AS released (id, attempt)
WHERE jobs.id = released.id AND jobs.attempt = released.attempt
  AND jobs.state = 'dispatched' AND jobs.executor_job_id IS NULL
RETURNING jobs.id;

-- name: route_new_jobs --
-- New jobs wait on the unrouted queue; each goes to its kind's and memory tier's queue.
UPDATE jobs SET queue = routes.queue
FROM jsonb_to_recordset(%(routes)s) AS routes (kind text, memory_tier integer, queue text)
WHERE jobs.state = 'pending' AND jobs.queue = %(unrouted)s
  AND routes.kind = jobs.kind AND routes.memory_tier = LEAST(jobs.memory_tier, %(max_tier)s)
  AND routes.queue <> jobs.queue;

-- name: active_jobs --
SELECT id, attempt, state, executor, executor_job_id,
       (state = 'running' AND heartbeat_at < now() - make_interval(secs => %(stale)s)) AS stale,
       -- never submitted, unless its recorded submission is still to be settled (recovery)
       CASE WHEN state = 'dispatched' AND executor_job_id IS NULL
                 AND dispatched_at < now() - make_interval(secs => %(grace)s)
            THEN NOT EXISTS (
                SELECT 1 FROM job_submission_members m
                JOIN job_submissions s ON s.token = m.token
                WHERE m.job_id = jobs.id AND m.attempt = jobs.attempt
                  AND s.executor_job_id IS NULL)
            ELSE false END AS unsubmitted
FROM jobs
WHERE state IN ('dispatched', 'running');

-- name: mark_lost --
-- Only the attempt we looked at, and only while unfinished: a worker that just committed wins.
UPDATE jobs SET state = 'errored', ended_at = now(), failure_reason = lost.reason
FROM (VALUES %s) AS lost (id, attempt, reason)
WHERE jobs.id = lost.id AND jobs.attempt = lost.attempt
  AND jobs.state IN ('dispatched', 'running')
RETURNING jobs.id, jobs.attempt, jobs.memory_tier, lost.reason;

-- name: record_lost_attempts --
INSERT INTO job_attempts (job_id, attempt, memory_tier, ended_at, outcome, reason)
SELECT v.job_id, v.attempt, v.memory_tier, now(), 'lost', v.reason
FROM (VALUES %s) AS v (job_id, attempt, memory_tier, reason)
ON CONFLICT (job_id, attempt)
DO UPDATE SET ended_at = now(), outcome = 'lost', reason = EXCLUDED.reason;

-- name: retry_errored --
-- Back to pending one memory tier up, once the job has waited its delay since the attempt
-- ended: %(delay)s seconds doubled for every attempt after the first since the last manual
-- retry (`retry_base_attempt`), at most %(max_delay)s. Permanent failures are never retried.
-- With routes, the job moves to the queue of its new tier (the large-memory pool, say).
UPDATE jobs
SET state = 'pending', memory_tier = LEAST(memory_tier + 1, %(max_tier)s),
    queue = coalesce((
        SELECT routes.queue
        FROM jsonb_to_recordset(%(routes)s) AS routes (kind text, memory_tier integer, queue text)
        WHERE routes.kind = jobs.kind
          AND routes.memory_tier = LEAST(jobs.memory_tier + 1, %(max_tier)s)
    ), jobs.queue)
WHERE state = 'errored' AND NOT permanent AND attempt < max_attempts
  AND coalesce(ended_at, '-infinity') <= now() - make_interval(
        secs => LEAST(%(max_delay)s,
                      %(delay)s * power(2, GREATEST(attempt - retry_base_attempt - 1, 0))))
RETURNING id;

-- name: fail_exhausted --
-- Jobs out of attempts, and those whose worker reported an error no retry can fix. A job
-- whose payload names an `on_failure` job ({kind, payload, dedupe_key}) has it queued in the
-- same statement, so what must follow a failure (a summary that leaves the sample out) is
-- never lost between two commits.
WITH failed AS (
    UPDATE jobs
    SET state = 'failed', ended_at = now(),
        failure_reason = CASE
            WHEN permanent THEN 'not retried, it cannot succeed: '
            ELSE 'gave up after ' || attempt || ' attempts: '
        END || coalesce(failure_reason, 'no reason recorded')
    WHERE state = 'errored' AND (permanent OR attempt >= max_attempts)
    RETURNING id, failure_reason, payload -> 'on_failure' AS follow_up
), follow_ups AS (
    INSERT INTO jobs (kind, payload, dedupe_key, parent_job_id)
    SELECT follow_up ->> 'kind', follow_up -> 'payload', follow_up ->> 'dedupe_key', id
    FROM failed WHERE follow_up IS NOT NULL
    ON CONFLICT (dedupe_key) DO NOTHING
)
SELECT id, failure_reason FROM failed;

-- name: beat --
INSERT INTO foreman_heartbeats (foreman_id, hostname, pid, version, role, dispatched_total,
                                api_usage)
VALUES (%(foreman_id)s, %(hostname)s, %(pid)s, %(version)s, %(role)s, %(dispatched_total)s,
        %(api_usage)s)
ON CONFLICT (foreman_id) DO UPDATE
SET role = EXCLUDED.role, beat_at = now(), dispatched_total = EXCLUDED.dispatched_total,
    api_usage = EXCLUDED.api_usage;

-- name: retire_previous_leaders --
-- Whoever held the lock before us is gone (its session ended); say so for monitoring, and
-- forget foremen that stopped long ago.
UPDATE foreman_heartbeats SET role = 'stopped'
WHERE role = 'leader' AND foreman_id <> %(foreman_id)s;
DELETE FROM foreman_heartbeats WHERE role = 'stopped' AND beat_at < now() - interval '7 days';

-- name: release_waiting --
-- Waiting jobs whose dependency succeeded become pending (their attempts untouched), and so do
-- those that wait only for its end (`needs_success = false`) once it ended any way.
UPDATE jobs SET state = 'pending'
FROM jobs dependency
WHERE jobs.state = 'waiting' AND dependency.id = jobs.depends_on
  AND (dependency.state = 'succeeded'
       OR (NOT jobs.needs_success AND dependency.state IN ('failed', 'cancelled')))
RETURNING jobs.id;

-- name: fail_waiting --
-- Waiting jobs whose dependency ended without succeeding fail for good, with its reason (and
-- their `on_failure` job is queued, as in fail_exhausted).
WITH failed AS (
    UPDATE jobs
    SET state = 'failed', ended_at = now(), permanent = true,
        failure_reason = 'its dependency, ' || dependency.kind || ' job ' || dependency.id
            || ', ' || dependency.state || ': '
            || coalesce(dependency.failure_reason, 'no reason recorded')
    FROM jobs dependency
    WHERE jobs.state = 'waiting' AND dependency.id = jobs.depends_on AND jobs.needs_success
      AND dependency.state IN ('failed', 'cancelled')
    RETURNING jobs.id, jobs.failure_reason, jobs.payload -> 'on_failure' AS follow_up
), follow_ups AS (
    INSERT INTO jobs (kind, payload, dedupe_key, parent_job_id)
    SELECT follow_up ->> 'kind', follow_up -> 'payload', follow_up ->> 'dedupe_key', id
    FROM failed WHERE follow_up IS NOT NULL
    ON CONFLICT (dedupe_key) DO NOTHING
)
SELECT id, failure_reason FROM failed;
