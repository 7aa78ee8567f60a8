-- Metrics: the figures every view reads (common/metrics.py), their per-minute history, and
-- the outcomes of the operations that are not jobs (backups, lake checks).

-- A failure reason with what varies between occurrences taken out (paths, ids, numbers), so
-- that ten thousand failures of one cause are one line. One definition, used by the metrics,
-- the live view and the console's reason filter alike.
CREATE FUNCTION refinery_reason_group(reason text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    line text := btrim(split_part(coalesce(reason, ''), E'\n', 1));
BEGIN
    IF line = '' THEN
        RETURN 'no reason given';
    END IF;
    line := regexp_replace(line, '(s3|https?)://[^[:space:]''"]+', '<url>', 'g');
    line := regexp_replace(line, '(~|\.{1,2})?(/[^[:space:]/:''",;]+){2,}/?', '<path>', 'g');
    line := regexp_replace(
        line, '[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}', '<id>', 'g');
    -- hex tokens of 6+ characters with a digit and a letter: hashes, container and job ids
    line := regexp_replace(
        line, '\m(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}\M', '<id>', 'g');
    line := regexp_replace(line, '[0-9]+([.:,][0-9]+)*', '<n>', 'g');
    line := regexp_replace(line, '[[:space:]]+', ' ', 'g');
    RETURN left(line, 200);
END
$$;

-- One row per minute and (queue, kind): the gauges as they stood and the counters' totals,
-- written by the leading foreman once a minute and kept for 30 days. Throughput over a
-- minute is the difference of two consecutive rows' totals.
CREATE TABLE metrics_minutes (
    minute timestamptz NOT NULL,
    queue text NOT NULL,
    kind text NOT NULL,
    pending integer NOT NULL,
    dispatched integer NOT NULL,
    running integer NOT NULL,
    errored integer NOT NULL,
    failed integer NOT NULL,
    capacity integer NOT NULL,
    oldest_pending_seconds double precision NOT NULL,
    stale_heartbeats integer NOT NULL,
    dispatches_total bigint NOT NULL,
    succeeded_total bigint NOT NULL,
    errored_total bigint NOT NULL,
    lost_total bigint NOT NULL,
    cancelled_total bigint NOT NULL,
    duration_bounds double precision[] NOT NULL,
    duration_buckets bigint[] NOT NULL,
    duration_sum_seconds double precision NOT NULL,
    PRIMARY KEY (minute, queue, kind)
);

-- The newest backup as its folder's catalog last showed it, written by whatever took, verified,
-- pruned or restored backups (so a restore that rolls this table back also puts it right).
CREATE TABLE backup_records (
    environment text PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    created_at timestamptz NOT NULL,
    verified boolean,
    verified_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- Every `inv lake.check`: when, whether the lake and the catalog agreed, and how far not.
CREATE TABLE lake_checks (
    id bigserial PRIMARY KEY,
    checked_at timestamptz NOT NULL DEFAULT now(),
    lake text NOT NULL,
    in_sync boolean NOT NULL,
    differences integer NOT NULL,
    catalog_files bigint NOT NULL,
    lake_objects bigint NOT NULL,
    checksums boolean NOT NULL
);
CREATE INDEX lake_checks_checked_at_idx ON lake_checks (checked_at);

GRANT SELECT ON metrics_minutes, backup_records, lake_checks TO refinery_analyst;
GRANT INSERT, UPDATE, DELETE ON metrics_minutes, backup_records, lake_checks TO refinery_engineer;
GRANT USAGE, SELECT ON SEQUENCE lake_checks_id_seq TO refinery_analyst;
GRANT ALL ON metrics_minutes, backup_records, lake_checks TO refinery_admin;
