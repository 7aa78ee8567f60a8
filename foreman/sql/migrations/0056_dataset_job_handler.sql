-- A dataset job's handler is the build its payload names (matrices, qn_target, compendium):
-- the generated handler column (0050) learns the dataset kind (0055).
ALTER TABLE jobs ALTER COLUMN handler SET EXPRESSION AS (
    CASE kind
        WHEN 'survey' THEN coalesce(payload ->> 'source', '')
        WHEN 'download' THEN 'download'
        WHEN 'index' THEN 'salmon'
        WHEN 'dataset' THEN coalesce(payload ->> 'build', '')
        ELSE coalesce(payload ->> 'application', '')
    END
);
