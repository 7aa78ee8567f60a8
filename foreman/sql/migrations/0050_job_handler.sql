-- A job's handler is decided once, when the job is queued: the name its handler is registered
-- under (an application's name in common/applications.py) — a survey's source, `download`, an
-- index build's `salmon`, a process job's application. The column is generated from the kind
-- and the payload as the row is written (and for every existing row by this statement), so
-- every way of queuing a job — the Python helpers, a failed job's `on_failure` follow-up in
-- SQL — gets it, and the dispatch, the executors and the worker all read this one column.
ALTER TABLE jobs ADD COLUMN handler text NOT NULL GENERATED ALWAYS AS (
    CASE kind
        WHEN 'survey' THEN coalesce(payload ->> 'source', '')
        WHEN 'download' THEN 'download'
        WHEN 'index' THEN 'salmon'
        ELSE coalesce(payload ->> 'application', '')
    END
) STORED;
