-- The console: people's API tokens, and a full-text search index over the catalog and results.

-- One token per person (`inv users.add` makes it, `inv users.token` replaces it), kept only
-- as its SHA-256: the token is 32 random bytes, so a fast hash is as strong as a slow one.
CREATE TABLE api_tokens (
    user_name text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('analyst', 'engineer', 'admin')),
    token_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz NOT NULL DEFAULT now()
);
GRANT ALL ON api_tokens TO refinery_admin;

-- What the search finds, one row per project, sample, experiment and analysis: the text
-- weighted by field (A names and accessions, B tissue, species, application and status,
-- C the free-form metadata, D the rest) and the facets to count. Rows are rewritten by the
-- triggers below in the same transaction as the change, so the index is never behind.
CREATE TABLE search_documents (
    entity text NOT NULL CHECK (entity IN ('project', 'sample', 'experiment', 'analysis')),
    entity_id bigint NOT NULL,
    title text NOT NULL,
    subtitle text NOT NULL DEFAULT '',
    project text NOT NULL DEFAULT '',
    tissue text NOT NULL DEFAULT '',
    application text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT '',
    document tsvector NOT NULL,
    PRIMARY KEY (entity, entity_id)
);
CREATE INDEX search_documents_document_idx ON search_documents USING gin (document);

-- The text of jsonb metadata: its string and number values (keys say little to a searcher).
CREATE FUNCTION refinery_metadata_text(metadata jsonb) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_to_tsvector('english', coalesce(metadata, '{}'), '["string", "numeric"]')
$$;

CREATE VIEW search_sources AS
SELECT 'project'::text AS entity, p.id AS entity_id, p.accession AS title,
       p.title AS subtitle, p.accession AS project, ''::text AS tissue,
       ''::text AS application, ''::text AS status,
       setweight(to_tsvector('english', p.accession || ' ' || p.title), 'A')
       || setweight(to_tsvector('english', p.source), 'D') AS document
FROM projects p
UNION ALL
SELECT 'sample', s.id, s.name, i.name || ' · ' || s.tissue, p.accession, s.tissue, '', '',
       setweight(to_tsvector('english', s.name), 'A')
       || setweight(to_tsvector('english', s.tissue || ' ' || i.species), 'B')
       || setweight(refinery_metadata_text(s.metadata), 'C')
       || setweight(to_tsvector('english', i.name || ' ' || p.accession || ' ' || p.title), 'D')
FROM samples s
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
UNION ALL
SELECT 'experiment', e.id, e.accession, s.name || ' · ' || e.library_layout, p.accession,
       s.tissue, '', '',
       setweight(to_tsvector('english', e.accession), 'A')
       || setweight(to_tsvector('english', s.tissue || ' ' || e.platform || ' '
                                           || e.library_layout), 'B')
       || setweight(refinery_metadata_text(e.metadata), 'C')
       || setweight(to_tsvector('english', s.name || ' ' || p.accession), 'D')
FROM experiments e
JOIN aliquots a ON a.id = e.aliquot_id
JOIN samples s ON s.id = a.sample_id
JOIN individuals i ON i.id = s.individual_id
JOIN projects p ON p.id = i.project_id
UNION ALL
SELECT 'analysis', an.id, an.application || ' #' || an.id, an.status || ' · ' || an.run_by,
       coalesce(targets.projects, ''), coalesce(targets.tissues, ''), an.application,
       an.status,
       setweight(to_tsvector('english', an.application), 'A')
       || setweight(to_tsvector('english', an.status || ' ' || an.run_by), 'B')
       || setweight(refinery_metadata_text(an.metadata), 'C')
       || setweight(to_tsvector('english', coalesce(targets.words, '')), 'D')
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

-- Rewrite (or drop) the search rows of some entities from their sources.
CREATE FUNCTION refinery_reindex(kind text, ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    -- joined with unnest (not `= ANY`) so that a bulk insert's many ids hash-join
    DELETE FROM search_documents d
     USING unnest(ids) AS changed (id)
     WHERE d.entity = kind AND d.entity_id = changed.id
       AND NOT EXISTS (SELECT FROM search_sources s
                        WHERE s.entity = kind AND s.entity_id = d.entity_id);
    INSERT INTO search_documents
    SELECT s.* FROM search_sources s JOIN (SELECT DISTINCT unnest(ids) AS id) AS changed
                                       ON s.entity_id = changed.id
     WHERE s.entity = kind
    ON CONFLICT (entity, entity_id) DO UPDATE
    SET title = EXCLUDED.title, subtitle = EXCLUDED.subtitle, project = EXCLUDED.project,
        tissue = EXCLUDED.tissue, application = EXCLUDED.application,
        status = EXCLUDED.status, document = EXCLUDED.document;
END
$$;

-- One trigger function for every source table, per statement (transition tables), so a
-- survey's bulk insert reindexes once, not once per row. A change to a sample also reaches
-- its experiments (their tissue), an individual's its samples (species), and a project's
-- title its samples.
CREATE FUNCTION refinery_search_refresh() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    changed bigint[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        EXECUTE 'SELECT array_agg(' || quote_ident(TG_ARGV[1]) || ') FROM old_rows' INTO changed;
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE 'SELECT array_agg(' || quote_ident(TG_ARGV[1]) || ') FROM new_rows' INTO changed;
    ELSE
        EXECUTE 'SELECT array_agg(' || quote_ident(TG_ARGV[1]) || ') FROM ('
             || 'SELECT ' || quote_ident(TG_ARGV[1]) || ' FROM new_rows UNION '
             || 'SELECT ' || quote_ident(TG_ARGV[1]) || ' FROM old_rows) AS c' INTO changed;
    END IF;
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_ARGV[0] <> 'individual' THEN
        PERFORM refinery_reindex(TG_ARGV[0], changed);
    END IF;
    IF TG_ARGV[0] = 'sample' THEN
        PERFORM refinery_reindex('experiment', ARRAY(
            SELECT e.id FROM experiments e JOIN aliquots a ON a.id = e.aliquot_id
             WHERE a.sample_id = ANY(changed)));
    ELSIF TG_ARGV[0] = 'individual' THEN
        PERFORM refinery_reindex('sample', ARRAY(
            SELECT s.id FROM samples s WHERE s.individual_id = ANY(changed)));
    ELSIF TG_ARGV[0] = 'project' AND TG_OP = 'UPDATE' THEN
        PERFORM refinery_reindex('sample', ARRAY(
            SELECT s.id FROM samples s JOIN individuals i ON i.id = s.individual_id
             WHERE i.project_id = ANY(changed)));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER projects_search_insert AFTER INSERT ON projects
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('project', 'id');
CREATE TRIGGER projects_search_update AFTER UPDATE ON projects
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('project', 'id');
CREATE TRIGGER projects_search_delete AFTER DELETE ON projects
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('project', 'id');
CREATE TRIGGER individuals_search_update AFTER UPDATE ON individuals
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('individual', 'id');
CREATE TRIGGER samples_search_insert AFTER INSERT ON samples
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('sample', 'id');
CREATE TRIGGER samples_search_update AFTER UPDATE ON samples
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('sample', 'id');
CREATE TRIGGER samples_search_delete AFTER DELETE ON samples
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('sample', 'id');
CREATE TRIGGER experiments_search_insert AFTER INSERT ON experiments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('experiment', 'id');
CREATE TRIGGER experiments_search_update AFTER UPDATE ON experiments
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('experiment', 'id');
CREATE TRIGGER experiments_search_delete AFTER DELETE ON experiments
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('experiment', 'id');
CREATE TRIGGER analyses_search_insert AFTER INSERT ON analyses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'id');
CREATE TRIGGER analyses_search_update AFTER UPDATE ON analyses
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'id');
CREATE TRIGGER analyses_search_delete AFTER DELETE ON analyses
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'id');
CREATE TRIGGER analysis_targets_search_insert AFTER INSERT ON analysis_targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'analysis_id');
CREATE TRIGGER analysis_targets_search_delete AFTER DELETE ON analysis_targets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refinery_search_refresh('analysis', 'analysis_id');

-- Whatever the catalog held before this migration.
INSERT INTO search_documents SELECT * FROM search_sources;

GRANT SELECT ON search_documents, search_sources TO refinery_analyst;
