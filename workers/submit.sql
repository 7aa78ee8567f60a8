-- name: job_tree --
-- A job and everything it created, transitively (surveys create downloads create processes).
WITH RECURSIVE tree AS (
    SELECT id, kind, state, failure_reason FROM jobs WHERE id = %(root_job_id)s
    UNION ALL
    SELECT j.id, j.kind, j.state, j.failure_reason
    FROM jobs j JOIN tree t ON j.parent_job_id = t.id
)
SELECT id, kind, state, failure_reason FROM tree ORDER BY id;
