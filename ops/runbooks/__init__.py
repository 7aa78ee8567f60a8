"""Runbooks: modules whose docstring is the procedure and whose code performs it."""
