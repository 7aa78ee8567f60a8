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

-- name: column_hash_functions --
-- Each column of a table with the 64-bit hash function of its type's default hash operator
-- class (NULL when the type has none; such columns are hashed as text instead), and whether
-- the column has a collation.
SELECT a.attname, p.amproc::regproc::text, a.attcollation <> 0
FROM pg_attribute a
LEFT JOIN pg_opclass c
  ON c.opcintype = a.atttypid AND c.opcdefault
 AND c.opcmethod = (SELECT oid FROM pg_am WHERE amname = 'hash')
LEFT JOIN pg_amproc p
  ON p.amprocfamily = c.opcfamily AND p.amproclefttype = c.opcintype
 AND p.amprocrighttype = c.opcintype AND p.amprocnum = 2
WHERE a.attrelid = %(table)s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum

-- name: table_fingerprint --
-- Row count and an order-independent content checksum. Each row hashes to the XOR of its
-- columns' 64-bit hashes, each seeded with the column's position (so moving a value to
-- another column changes it; NULL hashes to the seed); the table's checksum is the sum over
-- rows. sum(bigint) is numeric, so it cannot overflow; equal tables give equal sums
-- whatever order COPY loaded them in. Column-wise hashing by type avoids building a
-- composite value per row (about 3x faster than hashing the whole row).
-- ONLY: a table's own rows, as pg_dump dumps them (inheritance children have their own).
SELECT count(*), 'c:' || coalesce(sum({row_hash}), 0) FROM ONLY {table} AS t

-- name: range_fingerprint --
-- table_fingerprint over one block range of a split table: the sums of a table's ranges,
-- which cover every row once, add up to its table_fingerprint ('c:' || the total).
SELECT count(*), coalesce(sum({row_hash}), 0)::text FROM ONLY {table} AS t
WHERE {condition}

-- name: table_fingerprint_as_text --
-- For tables with a column type that has no hash function (json, point, xml…): hash the
-- row's text instead.
SELECT count(*), 't:' || coalesce(sum(hashtextextended(t::text, 0)), 0) FROM ONLY {table} AS t

-- name: server_facts --
SELECT current_setting('server_version'), pg_database_size(current_database())

-- name: export_snapshot --
SELECT pg_export_snapshot()

-- name: splittable_tables --
-- Plain tables (not partitioned parents, not extension members) at least %(min_bytes)s
-- large, with their size in blocks, the columns COPY carries (generated ones excluded, as
-- pg_dump does), and whether every column's type is built in (oid below 16384, so its
-- binary COPY form is the server's own, stable one), largest first. Only from PostgreSQL 14
-- on, whose TID range scans read just the range's blocks (older ones would scan the whole
-- table once per range: such servers get the plain pg_dump).
SELECT n.nspname, c.relname,
       (pg_relation_size(c.oid) / current_setting('block_size')::bigint)::bigint,
       array(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               AND a.attgenerated = ''
             ORDER BY a.attnum),
       NOT EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                     AND a.attgenerated = '' AND a.atttypid >= 16384)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%%'
  AND n.nspname NOT LIKE 'pg\_temp%%'
  AND pg_relation_size(c.oid) >= %(min_bytes)s
  AND current_setting('server_version_num')::int >= 140000
  AND EXISTS (SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                AND a.attgenerated = '')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')
ORDER BY pg_relation_size(c.oid) DESC, n.nspname, c.relname
