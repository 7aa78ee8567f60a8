-- Jobs: failures that cannot succeed on retry, and a retry delay that starts over.
--
-- A worker whose handler failed for good (malformed input, an unknown handler) says so in
-- `permanent`; the foreman then fails the job at once with that reason instead of spending
-- its remaining attempts. `retry_base_attempt` is the attempt count when a person last sent
-- the job back with `inv jobs.retry`: the retry delay doubles with attempts since then, so a
-- manual retry starts again from the shortest delay.
ALTER TABLE jobs ADD COLUMN permanent boolean NOT NULL DEFAULT false;
ALTER TABLE jobs ADD COLUMN retry_base_attempt integer NOT NULL DEFAULT 0
    CHECK (retry_base_attempt >= 0);
