"""Downloaders: each application's code sits in the module its `applications.toml`
entry names, imported when a job of that application runs (workers.registry)."""
