-- Projects: set up on purpose, listed with what they hold, shown with their metadata.

-- name: insert_project --
INSERT INTO projects (source, accession, title, owner, metadata_schema_version)
VALUES (%(source)s, %(code)s, %(title)s, %(owner)s, %(schema_version)s)
ON CONFLICT (source, accession) DO NOTHING
RETURNING id;

-- name: select_projects --
-- Every project (or those with one code) with counts of what it holds. Files count the
-- project's original files and the computed files of analyses that used its experiments.
WITH project_experiments AS (
    SELECT i.project_id, e.id AS experiment_id
    FROM experiments e
    JOIN aliquots a ON a.id = e.aliquot_id
    JOIN samples s ON s.id = a.sample_id
    JOIN individuals i ON i.id = s.individual_id
),
project_analyses AS (
    SELECT DISTINCT pe.project_id, t.analysis_id
    FROM project_experiments pe
    JOIN analysis_targets t ON t.experiment_id = pe.experiment_id
)
SELECT p.id, p.source, p.accession AS code, p.title, p.owner,
       p.metadata_schema_version AS schema_version, p.created_at,
       (SELECT count(*) FROM individuals i WHERE i.project_id = p.id) AS individuals,
       (SELECT count(*) FROM samples s JOIN individuals i ON i.id = s.individual_id
         WHERE i.project_id = p.id) AS samples,
       (SELECT count(*) FROM project_experiments pe WHERE pe.project_id = p.id) AS experiments,
       (SELECT count(*) FROM files f JOIN project_experiments pe
            ON pe.experiment_id = f.experiment_id WHERE pe.project_id = p.id)
       + (SELECT count(*) FROM files f JOIN project_analyses pa
            ON pa.analysis_id = f.analysis_id WHERE pa.project_id = p.id) AS files,
       (SELECT count(*) FROM project_analyses pa WHERE pa.project_id = p.id) AS analyses
FROM projects p
WHERE (%(code)s::text IS NULL OR p.accession = %(code)s)
  AND (%(source)s::text IS NULL OR p.source = %(source)s)
ORDER BY p.accession, p.source;

-- name: select_imports --
SELECT kind, schema_version, origin, created_at
FROM imports WHERE project_id = %(project_id)s
ORDER BY created_at, id;

-- name: select_project_samples --
-- Every sample of the project with its individual and their merged metadata.
SELECT i.name AS individual, i.species, i.metadata AS individual_metadata,
       s.name AS sample, s.tissue, s.metadata AS sample_metadata
FROM samples s
JOIN individuals i ON i.id = s.individual_id
WHERE i.project_id = %(project_id)s
ORDER BY i.name, s.name;
