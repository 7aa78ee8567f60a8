-- name: find_index --
SELECT i.*, j.state AS job_state, j.failure_reason AS job_failure
FROM transcriptome_indices i LEFT JOIN jobs j ON j.id = i.job_id
WHERE i.organism = %(organism)s AND i.source = %(source)s AND i.release = %(release)s
  AND i.salmon_version = %(salmon_version)s;

-- name: insert_index --
INSERT INTO transcriptome_indices (organism, source, division, release, salmon_version, inputs,
                                   prefix)
VALUES (%(organism)s, %(source)s, %(division)s, %(release)s, %(salmon_version)s, %(inputs)s,
        %(prefix)s)
RETURNING id;

-- name: set_index_job --
UPDATE transcriptome_indices SET job_id = %(job_id)s WHERE id = %(index_id)s;

-- name: select_index --
SELECT * FROM transcriptome_indices WHERE id = %(index_id)s;

-- name: mark_index_ready --
UPDATE transcriptome_indices
SET state = 'ready', built_at = now(), transcripts = %(transcripts)s, genes = %(genes)s,
    pseudogene_lines_dropped = %(dropped)s
WHERE id = %(index_id)s;

-- name: index_for_organism --
-- The newest index of an organism that is built or still being built (not one whose build
-- failed), case-insensitively by organism name.
SELECT i.id, i.state, i.job_id, i.salmon_version
FROM transcriptome_indices i LEFT JOIN jobs j ON j.id = i.job_id
WHERE lower(i.organism) = lower(%(organism)s)
  AND (i.state = 'ready' OR j.state NOT IN ('failed', 'cancelled'))
ORDER BY (i.state = 'ready') DESC, i.id DESC
LIMIT 1;

-- name: list_indices --
SELECT i.id, i.organism, i.source, i.division, i.release, i.salmon_version, i.state,
       i.job_id, j.state AS job_state, i.transcripts, i.genes, i.prefix, i.built_at
FROM transcriptome_indices i LEFT JOIN jobs j ON j.id = i.job_id
ORDER BY i.organism, i.id;
