"""Metadata in: records pulled from the institution's REDCap project, validated against the
project's schema version, diffed against the catalog and merged into it."""
