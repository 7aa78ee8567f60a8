-- name: lock_project --
-- Serialises the decisions about one project's summary (two samples finishing at once).
SELECT pg_advisory_xact_lock(hashtext('refinery_summarise'), %(project_id)s::integer);

-- name: active_quantifications --
-- The project's salmon jobs that have not ended, other than the one asking.
SELECT count(*) FROM jobs
WHERE (payload ->> 'project_id')::bigint = %(project_id)s AND payload ? 'project_id'
  AND kind = 'process' AND payload ->> 'application' = 'salmon'
  AND state IN ('waiting', 'pending', 'dispatched', 'running', 'errored')
  AND id <> %(job_id)s;

-- name: quantification_jobs --
-- The newest salmon job of every experiment of the project, with how it ended.
SELECT DISTINCT ON ((payload -> 'experiment_ids' ->> 0)::bigint)
       (payload -> 'experiment_ids' ->> 0)::bigint AS experiment_id, id, state, failure_reason
FROM jobs
WHERE (payload ->> 'project_id')::bigint = %(project_id)s AND payload ? 'project_id'
  AND kind = 'process' AND payload ->> 'application' = 'salmon'
ORDER BY (payload -> 'experiment_ids' ->> 0)::bigint, id DESC;

-- name: quantifications --
-- Every finished salmon analysis of the project's experiments, newest last.
SELECT e.id AS experiment_id, e.accession, an.id AS analysis_id, an.metadata
FROM projects p
JOIN individuals i ON i.project_id = p.id
JOIN samples s ON s.individual_id = i.id
JOIN aliquots a ON a.sample_id = s.id
JOIN experiments e ON e.aliquot_id = a.id
JOIN analysis_targets t ON t.experiment_id = e.id
JOIN analyses an ON an.id = t.analysis_id
WHERE p.id = %(project_id)s AND an.application = 'salmon'
  AND an.status IN ('FINISHED', 'SUCCEEDED')
ORDER BY e.id, an.id;

-- name: experiments_of_project --
SELECT e.id, e.accession
FROM projects p
JOIN individuals i ON i.project_id = p.id
JOIN samples s ON s.individual_id = i.id
JOIN aliquots a ON a.sample_id = s.id
JOIN experiments e ON e.aliquot_id = a.id
WHERE p.id = %(project_id)s
ORDER BY e.id;

-- name: project_by_accession --
SELECT id, accession FROM projects WHERE accession = %(accession)s ORDER BY id;

-- name: newest_summary --
SELECT id, metadata FROM analyses
WHERE application = 'summarise' AND (metadata ->> 'project_id')::bigint = %(project_id)s
  AND status IN ('FINISHED', 'SUCCEEDED')
ORDER BY id DESC LIMIT 1;

-- name: outdated_quantifications --
-- Experiments whose newest salmon result came from another index or salmon version than the
-- newest index of its organism (optionally one organism).
WITH newest AS (
    SELECT DISTINCT ON (lower(organism)) lower(organism) AS organism, id, salmon_version
    FROM transcriptome_indices WHERE state = 'ready'
    ORDER BY lower(organism), id DESC
), latest AS (
    SELECT DISTINCT ON (t.experiment_id) t.experiment_id, an.id AS analysis_id,
           (an.metadata ->> 'index_id')::bigint AS index_id,
           an.metadata ->> 'salmon_version' AS salmon_version
    FROM analysis_targets t JOIN analyses an ON an.id = t.analysis_id
    WHERE an.application = 'salmon' AND an.status IN ('FINISHED', 'SUCCEEDED')
    ORDER BY t.experiment_id, an.id DESC
)
SELECT e.id AS experiment_id, e.accession, i.species AS organism, latest.analysis_id,
       latest.index_id, latest.salmon_version, newest.id AS newest_index_id,
       newest.salmon_version AS newest_salmon_version, p.id AS project_id
FROM latest
JOIN experiments e ON e.id = latest.experiment_id
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
JOIN newest ON newest.organism = lower(i.species)
WHERE (latest.index_id IS DISTINCT FROM newest.id
       OR latest.salmon_version IS DISTINCT FROM newest.salmon_version)
  AND (%(organism)s::text IS NULL OR lower(i.species) = lower(%(organism)s))
ORDER BY e.id;
