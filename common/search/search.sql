-- name: horizon --
-- Every transaction older than this has ended: its changes are visible to this reader now.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text;

-- name: changed_since --
-- The entities written by transactions from `since` on (some seen before: applying is
-- idempotent), with their documents as they are now (none when the entity is gone).
SELECT c.entity, c.entity_id, t.title, t.subtitle, t.project, t.tissue, t.application,
       t.status, t.names, t.traits, t.metadata, t.context
FROM (SELECT DISTINCT entity, entity_id FROM search_changes
       WHERE changed_by >= %(since)s::text::xid8) AS c
LEFT JOIN search_texts t ON t.entity = c.entity AND t.entity_id = c.entity_id;

-- name: every_document --
SELECT entity, entity_id, title, subtitle, project, tissue, application, status, names,
       traits, metadata, context
FROM search_texts;

-- name: forget_old_changes --
-- Notes older than an index can be behind (an older index is rebuilt instead).
DELETE FROM search_changes WHERE changed_at < now() - make_interval(days => %(days)s);
