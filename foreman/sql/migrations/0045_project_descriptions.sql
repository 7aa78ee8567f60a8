-- What a public series says about itself, kept with its project: a GEO series' summary, and
-- its overall design, types, platforms and publications as metadata (surveyed from its SOFT
-- family file; the title already has a column).
ALTER TABLE projects
    ADD COLUMN summary text NOT NULL DEFAULT '',
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
