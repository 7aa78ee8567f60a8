-- name: user_tables --
-- Ordinary tables outside the system schemas, largest first so parallel checks balance.
SELECT n.nspname, c.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY pg_relation_size(c.oid) DESC, n.nspname, c.relname

-- name: table_fingerprint --
-- Row count and an order-independent content checksum: the sum of a 64-bit hash of each
-- row, computed by the column types' own hash functions (no text conversion, so fast).
-- sum(bigint) is numeric, so it cannot overflow; equal tables give equal sums whatever
-- order COPY loaded them in.
SELECT count(*), 'h:' || coalesce(sum(hash_record_extended(t, 0)), 0) FROM {table} AS t

-- name: table_fingerprint_as_text --
-- For tables with a column type that has no hash function (json, point, xml…): hash the
-- row's text instead.
SELECT count(*), 't:' || coalesce(sum(hashtextextended(t::text, 0)), 0) FROM {table} AS t

-- name: server_facts --
SELECT current_setting('server_version'), pg_database_size(current_database())

-- name: export_snapshot --
SELECT pg_export_snapshot()
