-- name: heartbeats --
-- Every foreman that has beaten, newest first, with its age on the database's clock.
SELECT foreman_id, hostname, pid, version, role, started_at, beat_at,
       extract(epoch FROM clock_timestamp() - beat_at)::float8 AS age_seconds
FROM foreman_heartbeats
ORDER BY beat_at DESC;
