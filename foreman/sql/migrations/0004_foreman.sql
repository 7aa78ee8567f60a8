-- Foreman: cheaper dispatch writes.
--
-- Dispatch writes each claimed job twice (the claim, then the executor's id for it). Free room
-- on every page lets the second write stay on its page without new index entries (a HOT
-- update). Most jobs have no parent, so only those that do are indexed by parent.
ALTER TABLE jobs SET (fillfactor = 80);
DROP INDEX jobs_parent_idx;
CREATE INDEX jobs_parent_idx ON jobs (parent_job_id) WHERE parent_job_id IS NOT NULL;
