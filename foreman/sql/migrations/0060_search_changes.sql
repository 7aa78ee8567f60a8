-- The search moves out of the database into a BM25 index (common/search): the triggers of
-- migration 0021 no longer rewrite a tsvector row inside every writing transaction; they note
-- which entities changed in `search_changes`, and each index applies the notes it has not
-- seen before it answers. `search_texts` is what an entity's index document is made of.

DROP TABLE search_documents;
DROP VIEW search_sources;
DROP FUNCTION refinery_metadata_text(jsonb);

-- One row per changed entity per writing statement. `changed_by` is the writing transaction:
-- a reader that has applied every row of transactions older than its snapshot's xmin can
-- never miss one committed later (a transaction still running then has an xid at or above
-- that xmin), whatever order the rows' transactions commit in.
CREATE TABLE search_changes (
    entity text NOT NULL CHECK (entity IN ('project', 'sample', 'experiment', 'analysis')),
    entity_id bigint NOT NULL,
    changed_by xid8 NOT NULL DEFAULT pg_current_xact_id(),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX search_changes_changed_by_idx ON search_changes (changed_by);
CREATE INDEX search_changes_changed_at_idx ON search_changes (changed_at);

-- The words of jsonb metadata: its string and number values (keys say little to a searcher).
CREATE FUNCTION refinery_metadata_words(metadata jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(value #>> '{}', ' '), '')
      FROM jsonb_path_query(coalesce(metadata, '{}'),
                            'strict $.** ? (@.type() == "string" || @.type() == "number")')
           AS found (value)
$$;

-- An entity's search document: what is shown (title, subtitle), the facets, and its words by
-- weight (names and accessions, then tissue/species/platform/status, then metadata, then the
-- rest: the entities it belongs to).
CREATE VIEW search_texts AS
SELECT 'project'::text AS entity, p.id AS entity_id, p.accession AS title,
       p.title AS subtitle, p.accession AS project, ''::text AS tissue,
       ''::text AS application, ''::text AS status,
       p.accession || ' ' || p.title AS names, ''::text AS traits, ''::text AS metadata,
       p.source AS context
FROM projects p
UNION ALL
SELECT 'sample', s.id, s.name, i.name || ' · ' || s.tissue, p.accession, s.tissue, '', '',
       s.name, s.tissue || ' ' || i.species, refinery_metadata_words(s.metadata),
       i.name || ' ' || p.accession || ' ' || p.title
FROM samples s
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
UNION ALL
SELECT 'experiment', e.id, e.accession, s.name || ' · ' || e.library_layout, p.accession,
       s.tissue, '', '',
       e.accession, s.tissue || ' ' || e.platform || ' ' || e.library_layout,
       refinery_metadata_words(e.metadata), s.name || ' ' || p.accession
FROM experiments e
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
UNION ALL
SELECT 'analysis', an.id, an.application || ' #' || an.id, an.status || ' · ' || an.run_by,
       coalesce(targets.projects, ''), coalesce(targets.tissues, ''), an.application,
       an.status,
       an.application, an.status || ' ' || an.run_by, refinery_metadata_words(an.metadata),
       coalesce(targets.words, '')
FROM analyses an
LEFT JOIN LATERAL (
    SELECT string_agg(DISTINCT p.accession, ', ') AS projects,
           string_agg(DISTINCT s.tissue, ', ') AS tissues,
           string_agg(e.accession || ' ' || s.name, ' ') AS words
    FROM analysis_targets t
    JOIN experiments e ON e.id = t.experiment_id
    JOIN aliquots a ON a.id = e.aliquot_id
    JOIN samples s ON s.id = a.sample_id
    JOIN individuals i ON i.id = s.individual_id
    JOIN projects p ON p.id = i.project_id
    WHERE t.analysis_id = an.id
) AS targets ON true;

-- Called by refinery_search_refresh (migration 0021) with the entities a statement changed.
CREATE OR REPLACE FUNCTION refinery_reindex(kind text, ids bigint[]) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO search_changes (entity, entity_id) SELECT DISTINCT kind, unnest(ids)
$$;

GRANT SELECT ON search_changes, search_texts TO refinery_analyst;
