-- Catalog writes and reads shared by surveyors, downloaders and processors.
-- Upserts return (id, created); on a conflict they change nothing (or only fill in what was
-- empty), so surveying the same source twice adds no rows.

-- name: insert_project --
WITH inserted AS (
    INSERT INTO projects (source, accession, title)
    VALUES (%(source)s, %(accession)s, %(title)s)
    ON CONFLICT (source, accession) DO NOTHING
    RETURNING id
)
SELECT id, true FROM inserted
UNION ALL
SELECT id, false FROM projects WHERE source = %(source)s AND accession = %(accession)s;

-- name: fill_project_title --
UPDATE projects SET title = %(title)s
WHERE id = %(id)s AND title = '' AND %(title)s <> '';

-- name: insert_individual --
WITH inserted AS (
    INSERT INTO individuals (project_id, name, species)
    VALUES (%(project_id)s, %(name)s, %(species)s)
    ON CONFLICT (project_id, name) DO NOTHING
    RETURNING id
)
SELECT id, true FROM inserted
UNION ALL
SELECT id, false FROM individuals WHERE project_id = %(project_id)s AND name = %(name)s;

-- name: insert_sample --
WITH inserted AS (
    INSERT INTO samples (individual_id, name, tissue, metadata, import_id)
    VALUES (%(individual_id)s, %(name)s, %(tissue)s, %(metadata)s, %(import_id)s)
    ON CONFLICT (individual_id, name) DO NOTHING
    RETURNING id
)
SELECT id, true FROM inserted
UNION ALL
SELECT id, false FROM samples WHERE individual_id = %(individual_id)s AND name = %(name)s;

-- name: insert_import --
WITH inserted AS (
    INSERT INTO imports (project_id, kind, schema_version, origin)
    VALUES (%(project_id)s, %(kind)s, %(schema_version)s, %(origin)s)
    ON CONFLICT (project_id, kind, schema_version, origin) DO NOTHING
    RETURNING id
)
SELECT id, true FROM inserted
UNION ALL
SELECT id, false FROM imports
WHERE project_id = %(project_id)s AND kind = %(kind)s AND schema_version = %(schema_version)s
  AND origin = %(origin)s;

-- name: insert_aliquot --
WITH inserted AS (
    INSERT INTO aliquots (sample_id, name)
    VALUES (%(sample_id)s, %(name)s)
    ON CONFLICT (sample_id, name) DO NOTHING
    RETURNING id
)
SELECT id, true FROM inserted
UNION ALL
SELECT id, false FROM aliquots WHERE sample_id = %(sample_id)s AND name = %(name)s;

-- name: insert_experiment --
WITH inserted AS (
    INSERT INTO experiments (aliquot_id, accession, library_layout, platform, metadata, import_id)
    VALUES (%(aliquot_id)s, %(accession)s, %(library_layout)s, %(platform)s, %(metadata)s,
            %(import_id)s)
    ON CONFLICT (accession) DO NOTHING
    RETURNING id, aliquot_id
)
SELECT id, aliquot_id, true FROM inserted
UNION ALL
SELECT id, aliquot_id, false FROM experiments WHERE accession = %(accession)s;

-- name: insert_original_file --
-- A file not yet stored takes the source's newest promise (url, size, md5); a stored file is
-- never changed by a survey.
WITH inserted AS (
    INSERT INTO files (kind, experiment_id, name, lake_key, source_url, size_bytes, source_md5)
    VALUES ('original', %(experiment_id)s, %(name)s, %(lake_key)s, %(source_url)s,
            %(size_bytes)s, %(source_md5)s)
    ON CONFLICT (lake_key) DO NOTHING
    RETURNING id, experiment_id
)
SELECT id, experiment_id, true FROM inserted
UNION ALL
SELECT id, experiment_id, false FROM files WHERE lake_key = %(lake_key)s;

-- name: select_original_file_promise --
-- What the catalog holds about an original file, locked: a re-survey compares it with what
-- the source says now.
SELECT source_url, size_bytes, source_md5, sha256, stored_at
FROM files WHERE id = %(id)s FOR UPDATE;

-- name: refresh_unstored_file --
UPDATE files
SET source_url = %(source_url)s, size_bytes = %(size_bytes)s, source_md5 = %(source_md5)s
WHERE id = %(id)s AND stored_at IS NULL
  AND (source_url, size_bytes, source_md5)
      IS DISTINCT FROM (%(source_url)s, %(size_bytes)s, %(source_md5)s)
RETURNING id;

-- name: select_file_for_download --
SELECT f.id, f.kind, f.name, f.lake_key, f.source_url, f.size_bytes, f.source_md5, f.sha256,
       f.stored_at, f.experiment_id, e.accession AS experiment_accession
FROM files f
LEFT JOIN experiments e ON e.id = f.experiment_id
WHERE f.id = %(file_id)s;

-- name: mark_file_stored --
-- Only while the catalog still holds the promise the bytes were verified against: a
-- re-survey may have changed it during the download.
UPDATE files SET sha256 = %(sha256)s, size_bytes = %(size_bytes)s, stored_at = now()
WHERE id = %(file_id)s
  AND (source_url, size_bytes, source_md5)
      IS NOT DISTINCT FROM (%(source_url)s, %(promised_size)s, %(source_md5)s)
RETURNING id;

-- name: file_exists --
SELECT 1 FROM files WHERE id = %(file_id)s;

-- name: lock_experiment --
SELECT id FROM experiments WHERE id = %(experiment_id)s FOR UPDATE;

-- name: count_unstored_originals --
SELECT count(*) FILTER (WHERE stored_at IS NULL), count(*)
FROM files WHERE experiment_id = %(experiment_id)s AND kind = 'original';

-- name: select_original_files --
SELECT id, name, lake_key, size_bytes, sha256, stored_at
FROM files WHERE experiment_id = %(experiment_id)s AND kind = 'original'
ORDER BY name, id;

-- name: select_experiment --
SELECT e.id, e.accession, e.library_layout, e.platform, e.metadata,
       a.name AS aliquot, s.name AS sample, s.tissue, i.name AS individual, i.species,
       p.source, p.accession AS project, p.id AS project_id
FROM experiments e
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
WHERE e.id = %(experiment_id)s;

-- name: insert_analysis --
INSERT INTO analyses (application, application_version, status, run_by, metadata)
VALUES (%(application)s, %(version)s, 'CREATED', %(run_by)s, %(metadata)s)
RETURNING id;

-- name: insert_analysis_target --
INSERT INTO analysis_targets (analysis_id, experiment_id)
VALUES (%(analysis_id)s, %(experiment_id)s)
ON CONFLICT DO NOTHING;

-- name: select_analysis --
SELECT id, application, application_version, status, run_by, results_location
FROM analyses WHERE id = %(analysis_id)s FOR UPDATE;

-- name: start_analysis --
UPDATE analyses
SET status = 'STARTED', started_at = now(), results_location = %(results_location)s
WHERE id = %(analysis_id)s AND status IN ('CREATED', 'STARTED')
RETURNING id;

-- name: merge_analysis_metadata --
UPDATE analyses SET metadata = metadata || %(metadata)s WHERE id = %(analysis_id)s;

-- name: finish_analysis --
UPDATE analyses SET status = 'FINISHED', finished_at = now()
WHERE id = %(analysis_id)s AND status = 'STARTED'
RETURNING id;

-- name: insert_computed_file --
INSERT INTO files (kind, analysis_id, name, lake_key, size_bytes, sha256, stored_at)
VALUES ('computed', %(analysis_id)s, %(name)s, %(lake_key)s, %(size_bytes)s, %(sha256)s, now())
ON CONFLICT (lake_key) DO UPDATE
SET size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256, stored_at = now()
WHERE files.analysis_id = EXCLUDED.analysis_id
RETURNING id;

-- name: select_qc_results --
-- The newest finished fastq_qc analysis of every experiment, with where its qc.json lives.
SELECT DISTINCT ON (e.id)
       e.id AS experiment_id, e.accession AS experiment, e.library_layout, e.platform,
       s.name AS sample, s.tissue, i.name AS individual, i.species, p.source,
       p.accession AS project, an.id AS analysis_id, an.status AS analysis_status,
       qc.lake_key AS qc_key, i.metadata || s.metadata AS sample_metadata
FROM experiments e
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
LEFT JOIN analysis_targets t ON t.experiment_id = e.id
LEFT JOIN analyses an ON an.id = t.analysis_id AND an.application = 'fastq_qc'
     AND an.status IN ('FINISHED', 'SUCCEEDED')
LEFT JOIN files qc ON qc.analysis_id = an.id AND qc.name = 'qc.json'
ORDER BY e.id, an.id DESC NULLS LAST;

-- name: describe_project --
-- A public series' own description, as it reads at its latest survey.
UPDATE projects SET summary = %(summary)s, metadata = %(metadata)s WHERE id = %(id)s;
