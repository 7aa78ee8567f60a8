"""Runbooks: each module's docstring reads as the runbook; its functions carry it out."""
