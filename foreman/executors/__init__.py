"""Executors run worker jobs somewhere: local processes, AWS Batch, or nowhere (null)."""
