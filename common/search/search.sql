-- name: horizon --
-- Every transaction older than this has ended: its changes are visible to this reader now.
-- With it, which database this is: one swapped in under the same name (a restore, a staging
-- refresh) has another oid, and its index is built again rather than caught up.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text,
       (SELECT oid::text FROM pg_database WHERE datname = current_database());

-- name: changed_since --
-- The notes of transactions from `since` on that this reader can see (all committed).
SELECT changed_by::text, entity, entity_id FROM search_changes
WHERE changed_by >= %(since)s::text::xid8;

-- name: documents_of --
-- The documents of these entities as they are now (an entity that is gone has none).
SELECT t.entity, t.entity_id, t.title, t.subtitle, t.project, t.tissue, t.application,
       t.status, t.names, t.traits, t.metadata, t.context
FROM search_texts t
JOIN unnest(%(entities)s::text[], %(ids)s::bigint[]) AS k (entity, entity_id)
  ON t.entity = k.entity AND t.entity_id = k.entity_id;

-- name: every_document --
SELECT entity, entity_id, title, subtitle, project, tissue, application, status, names,
       traits, metadata, context
FROM search_texts;

-- name: forget_old_changes --
-- Notes older than an index can be behind (an older index is rebuilt instead).
DELETE FROM search_changes WHERE changed_at < now() - make_interval(days => %(days)s);
