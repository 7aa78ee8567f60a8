"""Reports people read: rendered from the catalog and the lake, never from job output."""
