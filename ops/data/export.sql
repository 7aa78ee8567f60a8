-- What a project export holds: its samples with metadata, its files and analyses.

-- name: export_experiments --
SELECT e.id, e.accession AS experiment, e.library_layout, e.platform, e.metadata,
       a.name AS aliquot, s.name AS sample, s.tissue, s.metadata AS sample_metadata,
       i.name AS individual, i.species, i.metadata AS individual_metadata
FROM experiments e
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
WHERE i.project_id = %(project_id)s
  AND (%(experiment)s::text IS NULL OR e.accession = %(experiment)s)
ORDER BY e.accession;

-- name: export_original_files --
SELECT f.id, f.name, f.lake_key, f.size_bytes, f.sha256, f.stored_at, e.accession AS owner
FROM files f JOIN experiments e ON e.id = f.experiment_id
WHERE f.kind = 'original' AND f.experiment_id = ANY(%(experiment_ids)s)
ORDER BY e.accession, f.name;

-- name: export_analyses --
SELECT an.id, an.application, an.application_version, an.status, an.run_by,
       an.created_at, an.finished_at, an.sealed_at, an.metadata,
       array_agg(e.accession ORDER BY e.accession) AS experiments
FROM analyses an
JOIN analysis_targets t ON t.analysis_id = an.id
JOIN experiments e ON e.id = t.experiment_id
WHERE t.experiment_id = ANY(%(experiment_ids)s)
GROUP BY an.id
ORDER BY an.id;

-- name: export_computed_files --
SELECT f.id, f.name, f.lake_key, f.size_bytes, f.sha256, f.stored_at, f.analysis_id::text AS owner
FROM files f
WHERE f.kind = 'computed' AND f.analysis_id = ANY(%(analysis_ids)s)
ORDER BY f.analysis_id, f.name;
