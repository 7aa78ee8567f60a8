-- name: database_now --
SELECT clock_timestamp();

-- name: fresh_heartbeat --
-- The newest heartbeat written after the restart by a foreman that is not stopping.
SELECT foreman_id, hostname, pid, version, role, started_at, beat_at
FROM foreman_heartbeats
WHERE beat_at > %(since)s AND role <> 'stopped'
ORDER BY beat_at DESC
LIMIT 1;

-- name: latest_heartbeat --
SELECT foreman_id, hostname, pid, version, role, started_at, beat_at
FROM foreman_heartbeats
ORDER BY beat_at DESC
LIMIT 1;
