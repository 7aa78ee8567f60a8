"""Search across the catalog: the query language and ranking (`common.search.query`) over a
tantivy index that keeps up with the catalog (`common.search.index`)."""
