-- name: jobs --
SELECT id, kind, queue, state, attempt, max_attempts, created_at, dispatched_at, started_at,
       ended_at, failure_reason, refinery_reason_group(failure_reason) AS reason_group,
       extract(epoch FROM coalesce(ended_at, now()) - started_at)::float AS seconds
FROM jobs
WHERE (%(state)s::text IS NULL OR state = %(state)s)
  AND (%(kind)s::text IS NULL OR kind = %(kind)s)
  AND (%(queue)s::text IS NULL OR queue = %(queue)s)
  AND (%(reason)s::text IS NULL OR refinery_reason_group(failure_reason) = %(reason)s)
ORDER BY id DESC
LIMIT %(limit)s;

-- name: job_choices --
SELECT 'queue' AS facet, queue AS value FROM (SELECT DISTINCT queue FROM jobs) q
UNION ALL
SELECT 'reason', r FROM (SELECT DISTINCT refinery_reason_group(failure_reason) AS r
                         FROM jobs WHERE state = 'failed') f
ORDER BY 1, 2;

-- name: job --
SELECT id, kind, queue, state, payload, attempt, max_attempts, memory_tier, executor,
       executor_job_id, worker_id, heartbeat_at, created_at, dispatched_at, started_at,
       ended_at, failure_reason, refinery_reason_group(failure_reason) AS reason_group,
       parent_job_id, result
FROM jobs WHERE id = %(id)s;

-- name: job_attempts --
SELECT attempt, memory_tier, executor_job_id, worker_id, started_at, ended_at, outcome, reason,
       extract(epoch FROM ended_at - started_at)::float AS seconds
FROM job_attempts WHERE job_id = %(id)s ORDER BY attempt;

-- name: projects --
SELECT p.id, p.source, p.accession, p.title, p.created_at,
       count(DISTINCT i.id) AS individuals, count(DISTINCT s.id) AS samples
FROM projects p
LEFT JOIN individuals i ON i.project_id = p.id
LEFT JOIN samples s ON s.individual_id = i.id
GROUP BY p.id
ORDER BY p.accession;

-- name: project --
SELECT id, source, accession, title, created_at FROM projects WHERE id = %(id)s;

-- name: project_samples --
SELECT s.id, s.name, s.tissue, s.metadata, i.id AS individual_id, i.name AS individual,
       i.species
FROM samples s JOIN individuals i ON i.id = s.individual_id
WHERE i.project_id = %(id)s
ORDER BY i.name, s.name;

-- name: sample --
SELECT s.id, s.name, s.tissue, s.metadata, i.id AS individual_id, i.name AS individual,
       i.species, p.id AS project_id, p.accession AS project, p.title AS project_title
FROM samples s
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
WHERE s.id = %(id)s;

-- name: sample_experiments --
SELECT e.id, e.accession, e.library_layout, e.platform, e.metadata, a.name AS aliquot,
       (SELECT count(*) FROM files f WHERE f.experiment_id = e.id) AS files
FROM experiments e JOIN aliquots a ON a.id = e.aliquot_id
WHERE a.sample_id = %(id)s
ORDER BY e.accession;

-- name: experiment --
SELECT e.id, e.accession, e.library_layout, e.platform, e.metadata, e.created_at,
       s.id AS sample_id, s.name AS sample, s.tissue, p.id AS project_id, p.accession AS project
FROM experiments e
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
WHERE e.id = %(id)s;

-- name: experiment_files --
SELECT id, kind, name, lake_key, size_bytes, sha256, source_md5, stored_at
FROM files WHERE experiment_id = %(id)s ORDER BY name;

-- name: analyses_of_experiments --
SELECT DISTINCT an.id, an.application, an.application_version, an.status, an.run_by,
       an.created_at, an.finished_at, an.sealed_at
FROM analyses an JOIN analysis_targets t ON t.analysis_id = an.id
WHERE t.experiment_id = ANY(%(ids)s)
ORDER BY an.id;

-- name: analyses --
SELECT an.id, an.application, an.application_version, an.status, an.run_by, an.created_at,
       an.finished_at, an.sealed_at, an.results_bytes,
       (SELECT count(*) FROM analysis_targets t WHERE t.analysis_id = an.id) AS targets
FROM analyses an
WHERE (%(status)s::text IS NULL OR an.status = %(status)s)
  AND (%(application)s::text IS NULL OR an.application = %(application)s)
ORDER BY an.id DESC
LIMIT %(limit)s;

-- name: analysis --
SELECT id, application, application_version, status, run_by, results_location, results_bytes,
       results_sha256, metadata, created_at, started_at, finished_at, sealed_at
FROM analyses WHERE id = %(id)s;

-- name: analysis_targets --
SELECT e.id, e.accession, s.id AS sample_id, s.name AS sample, s.tissue
FROM analysis_targets t
JOIN experiments e ON e.id = t.experiment_id
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
WHERE t.analysis_id = %(id)s
ORDER BY e.accession;

-- name: analysis_files --
SELECT id, name, lake_key, size_bytes, sha256, stored_at
FROM files WHERE analysis_id = %(id)s ORDER BY name;

-- name: token_user --
SELECT user_name, role FROM api_tokens WHERE token_sha256 = %(digest)s;
