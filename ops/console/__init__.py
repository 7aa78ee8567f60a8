"""`inv console`: a read-only web console over jobs, the catalog, results and health, with
search, for people holding an API token."""
