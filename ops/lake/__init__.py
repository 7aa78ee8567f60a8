"""Data lake operations: sync check against the catalog, mirroring to S3, the lake benchmark."""
