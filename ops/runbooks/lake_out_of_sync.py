"""Runbook: the data lake and the catalog disagree (alarm `lake-out-of-sync`).

When: the last lake check (the deploy's smoke step runs the first, `[schedule] lake_check`
the rest) found a missing, orphaned or changed object.

1. `inv lake.check -e ENV --checksums` lists every difference: kind, key, catalog, lake.
2. Missing objects: restore them from the lake's second copy (`inv lake.restore -e ENV
   --from s3://REPLICA/`, dry run first) or from object versions.
3. Orphans left by an interrupted deletion: `inv data.recover -e ENV`.
4. Run `inv lake.check -e ENV` again: a clean check sets the alarm back to OK.
"""
