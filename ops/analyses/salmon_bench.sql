-- name: salmon_job --
-- The salmon job of one experiment (by accession): its state, when the foreman claimed it and
-- when its worker process began it.
SELECT j.id, j.state, extract(epoch FROM j.dispatched_at)::float8, j.failure_reason,
       extract(epoch FROM j.started_at)::float8
FROM jobs j
JOIN experiments e ON e.id = (j.payload -> 'experiment_ids' ->> 0)::bigint
WHERE j.kind = 'process' AND j.payload ->> 'application' = 'salmon' AND e.accession = %(accession)s
ORDER BY j.id DESC LIMIT 1;

-- name: salmon_result --
-- What the salmon analysis of one experiment recorded, and where its quant.sf lies.
SELECT an.metadata, f.lake_key
FROM analyses an
JOIN analysis_targets t ON t.analysis_id = an.id
JOIN experiments e ON e.id = t.experiment_id
JOIN files f ON f.analysis_id = an.id AND f.name = 'quant.sf'
WHERE an.application = 'salmon' AND e.accession = %(accession)s
ORDER BY an.id DESC LIMIT 1;
