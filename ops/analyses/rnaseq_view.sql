-- name: quantifications --
-- The newest finished salmon result of each experiment (of those asked, or all): who it is,
-- and the mapping rate and library type the analysis recorded.
SELECT DISTINCT ON (e.id)
       e.id AS experiment_id, e.accession AS experiment, s.name AS sample,
       p.id AS project_id, p.accession AS project, an.id AS analysis_id,
       (an.metadata ->> 'percent_mapped')::float8 AS percent_mapped,
       an.metadata ->> 'library_type' AS library_type,
       (an.metadata ->> 'reads')::bigint AS reads,
       (an.metadata ->> 'mapped')::bigint AS mapped
FROM analyses an
JOIN analysis_targets t ON t.analysis_id = an.id
JOIN experiments e ON e.id = t.experiment_id
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
WHERE an.application = 'salmon' AND an.status IN ('FINISHED', 'SUCCEEDED')
  AND (%(ids)s::bigint[] IS NULL OR e.id = ANY(%(ids)s::bigint[]))
ORDER BY e.id, an.id DESC;

-- name: gene_matrices --
-- The newest finished gene-level summary of each project (of those asked, or all), and where
-- its gene TPM matrix lies in the lake.
SELECT DISTINCT ON (p.id)
       p.id AS project_id, p.accession AS project, an.id AS analysis_id, f.lake_key
FROM analyses an
JOIN projects p ON p.id = (an.metadata ->> 'project_id')::bigint
JOIN files f ON f.analysis_id = an.id AND f.name = 'gene_tpm.tsv'
WHERE an.application = 'summarise' AND an.status IN ('FINISHED', 'SUCCEEDED')
  AND (%(ids)s::bigint[] IS NULL OR p.id = ANY(%(ids)s::bigint[]))
ORDER BY p.id, an.id DESC;
