"""`inv search.*`: the catalog's search index on this machine (rebuild it, ask it)."""
