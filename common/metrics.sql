-- name: job_gauges --
-- Per queue and kind: jobs in each live state, how long the oldest pending job has waited
-- (0 when none waits), running jobs whose worker went silent, and attempts handed out so far.
-- A retried job waits from the end of its last attempt, a new one from its creation.
SELECT queue, kind,
       count(*) FILTER (WHERE state = 'pending') AS pending,
       count(*) FILTER (WHERE state = 'dispatched') AS dispatched,
       count(*) FILTER (WHERE state = 'running') AS running,
       count(*) FILTER (WHERE state = 'errored') AS errored,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       coalesce(extract(epoch FROM now() - min(coalesce(ended_at, created_at))
                        FILTER (WHERE state = 'pending')), 0)::float AS oldest_pending_seconds,
       count(*) FILTER (WHERE state = 'running'
                          AND heartbeat_at < now() - make_interval(secs => %(stale)s))
           AS stale_heartbeats,
       coalesce(sum(attempt), 0)::bigint AS dispatches_total
FROM jobs
GROUP BY queue, kind
ORDER BY queue, kind;

-- name: attempt_outcomes --
-- Finished attempts per queue, kind and outcome, with their durations (submission to end)
-- counted into the histogram's buckets: bucket 0 holds durations below bounds[1], bucket i
-- those from bounds[i] up to bounds[i+1], and the last one everything longer.
SELECT j.queue, j.kind, a.outcome,
       width_bucket(extract(epoch FROM a.ended_at - a.started_at)::float,
                    %(bounds)s::float8[]) AS bucket,
       count(*) AS attempts,
       coalesce(sum(extract(epoch FROM a.ended_at - a.started_at)), 0)::float AS seconds
FROM job_attempts a
JOIN jobs j ON j.id = a.job_id
WHERE a.outcome IS NOT NULL
GROUP BY 1, 2, 3, 4;

-- name: failure_reasons --
SELECT refinery_reason_group(failure_reason) AS reason, kind, queue, count(*) AS jobs,
       max(ended_at) AS last_at, max(id) AS latest_job_id
FROM jobs
WHERE state = 'failed'
GROUP BY 1, 2, 3
ORDER BY jobs DESC, last_at DESC NULLS LAST
LIMIT %(limit)s;

-- name: foremen --
SELECT foreman_id, role, version, extract(epoch FROM now() - beat_at)::float AS age_seconds
FROM foreman_heartbeats
WHERE role <> 'stopped'
ORDER BY role, beat_at DESC;

-- name: last_backup --
SELECT name, kind, extract(epoch FROM now() - created_at)::float AS age_seconds, verified
FROM backup_records
ORDER BY created_at DESC
LIMIT 1;

-- name: last_lake_check --
SELECT extract(epoch FROM now() - checked_at)::float AS age_seconds, in_sync, differences, lake
FROM lake_checks
ORDER BY checked_at DESC, id DESC
LIMIT 1;

-- name: now --
SELECT now();

-- name: insert_minute --
INSERT INTO metrics_minutes (
    minute, queue, kind, pending, dispatched, running, errored, failed, capacity,
    oldest_pending_seconds, stale_heartbeats, dispatches_total, succeeded_total, errored_total,
    lost_total, cancelled_total, duration_bounds, duration_buckets, duration_sum_seconds)
VALUES %s
ON CONFLICT (minute, queue, kind) DO NOTHING;

-- name: prune_minutes --
DELETE FROM metrics_minutes WHERE minute < now() - make_interval(days => %(days)s);

-- name: prune_lake_checks --
DELETE FROM lake_checks WHERE checked_at < now() - make_interval(days => %(days)s);

-- name: history --
-- One row per minute (summed over the queues and kinds asked for), with the throughput of
-- that minute as the growth of the totals since the minute before.
WITH per_minute AS (
    SELECT minute,
           sum(pending) AS pending, sum(dispatched) AS dispatched, sum(running) AS running,
           sum(capacity) AS capacity, max(oldest_pending_seconds) AS oldest_pending_seconds,
           sum(dispatches_total) AS dispatches_total, sum(succeeded_total) AS succeeded_total,
           sum(errored_total + lost_total) AS errored_total, sum(failed) AS failed
    FROM metrics_minutes
    WHERE minute >= now() - make_interval(mins => %(minutes)s)
      AND (%(queue)s::text IS NULL OR queue = %(queue)s)
      AND (%(kind)s::text IS NULL OR kind = %(kind)s)
    GROUP BY minute
)
SELECT minute, pending, dispatched, running, capacity, oldest_pending_seconds, failed,
       greatest(dispatches_total - lag(dispatches_total) OVER w, 0) AS dispatches,
       greatest(succeeded_total - lag(succeeded_total) OVER w, 0) AS succeeded,
       greatest(errored_total - lag(errored_total) OVER w, 0) AS errored
FROM per_minute
WINDOW w AS (ORDER BY minute)
ORDER BY minute;

-- name: upsert_backup --
INSERT INTO backup_records (environment, name, kind, created_at, verified, verified_at)
VALUES (%(environment)s, %(name)s, %(kind)s, %(created_at)s, %(verified)s, %(verified_at)s)
ON CONFLICT (environment) DO UPDATE
SET name = EXCLUDED.name, kind = EXCLUDED.kind, created_at = EXCLUDED.created_at,
    verified = EXCLUDED.verified, verified_at = EXCLUDED.verified_at, recorded_at = now();

-- name: forget_backup --
DELETE FROM backup_records WHERE environment = %(environment)s;

-- name: insert_lake_check --
INSERT INTO lake_checks (lake, in_sync, differences, catalog_files, lake_objects, checksums)
VALUES (%(lake)s, %(in_sync)s, %(differences)s, %(catalog_files)s, %(lake_objects)s,
        %(checksums)s);
