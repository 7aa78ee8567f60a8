"""Data out: datasets people ask for, organisms' QN targets and compendia (the `dataset` job
kind). `requests` checks and queues them (used by `inv datasets.*` and the console);
`handlers` builds them."""
