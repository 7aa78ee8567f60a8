"""`inv deploy`: version rules, the per-environment deploy lock, the audit log and the pipeline."""
