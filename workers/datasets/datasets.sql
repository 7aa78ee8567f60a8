-- name: projects_by_accession --
SELECT id, accession, source, title, summary FROM projects
WHERE accession = ANY(%(accessions)s) ORDER BY accession, id;

-- name: existing_samples --
SELECT id FROM samples WHERE id = ANY(%(ids)s);

-- name: runs --
-- Every experiment (sequencing run) of the chosen projects or samples, with what a dataset's
-- metadata says of it.
SELECT e.id AS run_id, e.accession AS run, e.library_layout, e.platform,
       s.id AS sample_id, s.name AS sample, s.tissue, s.metadata AS sample_metadata,
       i.name AS individual, i.species, p.id AS project_id, p.accession AS project,
       p.title AS project_title
FROM samples s
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
LEFT JOIN aliquots a ON a.sample_id = s.id
LEFT JOIN experiments e ON e.aliquot_id = a.id
WHERE p.id = ANY(%(project_ids)s) OR s.id = ANY(%(sample_ids)s)
ORDER BY p.accession, s.id, e.accession;

-- name: newest_summaries --
-- The newest finished gene matrix (summary) of each project.
SELECT DISTINCT ON ((metadata ->> 'project_id')::bigint)
       (metadata ->> 'project_id')::bigint AS project_id, id AS analysis_id, metadata
FROM analyses
WHERE application = 'summarise' AND status IN ('FINISHED', 'SUCCEEDED')
  AND (metadata ->> 'project_id')::bigint = ANY(%(project_ids)s)
ORDER BY (metadata ->> 'project_id')::bigint, id DESC;

-- name: projects_of_organism --
SELECT DISTINCT p.id FROM projects p JOIN individuals i ON i.project_id = p.id
WHERE lower(i.species) = lower(%(organism)s) ORDER BY p.id;

-- name: newest_targets --
-- The newest QN target of each organism asked for.
SELECT DISTINCT ON (lower(organism)) lower(organism) AS organism, id, version, lake_key, sha256
FROM qn_targets WHERE lower(organism) = ANY(%(organisms)s)
ORDER BY lower(organism), version DESC;

-- name: next_target_version --
-- Serialised per organism by the advisory lock taken before it.
SELECT coalesce(max(version), 0) + 1 FROM qn_targets WHERE lower(organism) = lower(%(organism)s);

-- name: lock_organism_targets --
SELECT pg_advisory_xact_lock(hashtext('refinery_qn_target'), hashtext(lower(%(organism)s)));

-- name: insert_target --
INSERT INTO qn_targets (organism, version, job_id, lake_key, sha256, samples, genes, inputs)
VALUES (%(organism)s, %(version)s, %(job_id)s, %(lake_key)s, %(sha256)s, %(samples)s,
        %(genes)s, %(inputs)s)
RETURNING id;

-- name: insert_dataset --
INSERT INTO datasets (kind, organism, request, requested_by, qn_target_id)
VALUES (%(kind)s, %(organism)s, %(request)s, %(requested_by)s, %(qn_target_id)s)
RETURNING id;

-- name: set_dataset_job --
UPDATE datasets SET job_id = %(job_id)s WHERE id = %(dataset_id)s;

-- name: get_dataset --
SELECT d.*, j.state AS job_state, j.attempt, j.failure_reason
FROM datasets d LEFT JOIN jobs j ON j.id = d.job_id WHERE d.id = %(dataset_id)s;

-- name: list_datasets --
SELECT d.id, d.kind, d.state, d.organism, d.request, d.requested_by, d.job_id,
       j.state AS job_state, d.archive_bytes, d.created_at, d.built_at
FROM datasets d LEFT JOIN jobs j ON j.id = d.job_id
ORDER BY d.id DESC LIMIT %(limit)s;

-- name: finish_dataset --
UPDATE datasets SET state = 'ready', archive_key = %(archive_key)s,
       archive_sha256 = %(archive_sha256)s, archive_bytes = %(archive_bytes)s,
       contents = %(contents)s, link = %(link)s, link_expires_at = %(link_expires_at)s,
       built_at = now()
WHERE id = %(dataset_id)s;

-- name: set_link --
UPDATE datasets SET link = %(link)s, link_expires_at = %(link_expires_at)s
WHERE id = %(dataset_id)s;

-- name: list_targets --
SELECT id, organism, version, samples, genes, lake_key, sha256, job_id, created_at
FROM qn_targets ORDER BY organism, version;
