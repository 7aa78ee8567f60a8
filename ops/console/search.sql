-- name: search --
-- Ranked hits (weights: A names and accessions 1.0, B tissue/species/application/status 0.4,
-- C metadata 0.2, D the rest 0.1), filtered by facets; total counts every match.
WITH q AS (SELECT websearch_to_tsquery('english', %(text)s) AS query),
matches AS (
    SELECT d.entity, d.entity_id, d.title, d.subtitle, d.project, d.tissue, d.application,
           d.status, ts_rank_cd(d.document, q.query) AS rank
    FROM search_documents d, q
    WHERE d.document @@ q.query
      AND (%(entity)s::text IS NULL OR d.entity = %(entity)s)
      AND (%(project)s::text IS NULL OR d.project = %(project)s)
      AND (%(tissue)s::text IS NULL OR d.tissue = %(tissue)s)
      AND (%(application)s::text IS NULL OR d.application = %(application)s)
      AND (%(status)s::text IS NULL OR d.status = %(status)s)
)
SELECT entity, entity_id, title, subtitle, project, tissue, application, status, rank,
       count(*) OVER () AS total
FROM matches
ORDER BY rank DESC, entity, entity_id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: facets --
-- How many matches each facet value has (the five most common values of each facet).
WITH q AS (SELECT websearch_to_tsquery('english', %(text)s) AS query),
matches AS (
    SELECT d.entity, d.project, d.tissue, d.application, d.status
    FROM search_documents d, q
    WHERE d.document @@ q.query
      AND (%(entity)s::text IS NULL OR d.entity = %(entity)s)
      AND (%(project)s::text IS NULL OR d.project = %(project)s)
      AND (%(tissue)s::text IS NULL OR d.tissue = %(tissue)s)
      AND (%(application)s::text IS NULL OR d.application = %(application)s)
      AND (%(status)s::text IS NULL OR d.status = %(status)s)
),
counted AS (
    SELECT facet, value, count(*) AS hits,
           row_number() OVER (PARTITION BY facet ORDER BY count(*) DESC, value) AS place
    FROM matches,
         LATERAL (VALUES ('entity', entity), ('project', project), ('tissue', tissue),
                         ('application', application), ('status', status)) AS f (facet, value)
    WHERE value <> ''
    GROUP BY facet, value
)
SELECT facet, value, hits FROM counted WHERE place <= 10 ORDER BY facet, hits DESC, value;

-- name: ilike_samples --
-- The plain peer: the same samples found by substring with no index that helps and no
-- ranking, answering what the search answers (how many match, and a page of them).
SELECT s.id, s.name, count(*) OVER () AS total
FROM samples s
JOIN individuals i ON i.id = s.individual_id
WHERE s.name ILIKE %(pattern)s OR s.tissue ILIKE %(pattern)s OR i.species ILIKE %(pattern)s
   OR s.metadata::text ILIKE %(pattern)s
LIMIT %(limit)s;
