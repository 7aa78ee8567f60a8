-- A job may wait for another job's end, whatever its outcome, instead of its success
-- (`needs_success = false`): a sample's QC report runs once its quantification has finished,
-- so the two never read the same reads on the same cores at once, and a failed
-- quantification still gets its QC (the report is how one sees why it failed).
ALTER TABLE jobs ADD COLUMN needs_success boolean NOT NULL DEFAULT true;
