"""Staging refreshed from production: a verified backup restored beside staging's database,
anonymised, checked, migrated and smoke-tested before it is swapped in, with a rehearsal
report that a production deploy can require."""
