-- name: active_jobs --
-- Jobs not yet ended, of any kind: a benchmark through the platform runs on a quiet one.
SELECT count(*) FROM jobs WHERE state IN ('waiting', 'pending', 'dispatched', 'running', 'errored');
