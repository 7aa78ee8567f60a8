-- name: insert_projects --
INSERT INTO projects (source, accession, title)
SELECT 'bench', 'PRJB' || g, 'synthetic project ' || g FROM generate_series(1, 100) g;

-- name: insert_individuals --
INSERT INTO individuals (project_id, name, species)
SELECT (SELECT min(id) FROM projects) + g %% 100, 'IND' || g,
       (ARRAY['Homo sapiens', 'Mus musculus'])[1 + g %% 2]
FROM generate_series(1, %(individuals)s) g;

-- name: insert_samples --
-- Multipliers coprime with the vocabulary sizes spread the words evenly and deterministically.
INSERT INTO samples (individual_id, name, tissue, metadata)
SELECT (SELECT min(id) FROM individuals) + g %% %(individuals)s, 'SMP' || g,
       t[1 + (g * 7) %% cardinality(t)],
       jsonb_build_object(
           'diagnosis', d[1 + (g * 13) %% cardinality(d)],
           'site', s[1 + (g * 3) %% cardinality(s)],
           'note', 'collected at ' || s[1 + (g * 11) %% cardinality(s)] || ' visit ' || (g %% 9))
FROM generate_series(1, %(samples)s) g,
     (SELECT %(tissues)s::text[] AS t, %(diagnoses)s::text[] AS d, %(sites)s::text[] AS s) v;

-- name: ilike_samples --
-- The plain peer: the same samples found by substring with no index that helps and no
-- ranking, answering what the search answers (how many match, and a page of them).
SELECT s.id, s.name, count(*) OVER () AS total
FROM samples s
JOIN individuals i ON i.id = s.individual_id
WHERE s.name || ' ' || s.tissue || ' ' || i.species || ' ' || s.metadata::text
      ILIKE ALL (%(patterns)s::text[])
LIMIT %(limit)s;

-- name: right_answers --
-- The samples a judged question asks for: the one named, or those with both the tissue and
-- the diagnosis (as the generator wrote them).
SELECT s.id FROM samples s
WHERE s.name = %(question)s
   OR s.tissue || ' ' || (s.metadata ->> 'diagnosis') = %(question)s;
