-- Batch at scale: submissions grouped into arrays, made idempotent by a client-side token.
--
-- The foreman records a submission (its token and the attempts it carries, one per array
-- index) in the same transaction as the claim, before it calls the executor; the executor's
-- id is recorded once the call answers. A foreman that dies in between leaves a submission
-- without an executor id: its successor asks the executor for the job named after the token
-- and records it, or submits it then (same token), so no attempt runs twice or is lost.
-- A worker started as a child of an array finds its attempt here from its array index.
CREATE TABLE job_submissions (
    token uuid PRIMARY KEY,
    executor text NOT NULL,
    job_name text NOT NULL,
    job_queue text NOT NULL,
    job_definition text NOT NULL,
    size integer NOT NULL CHECK (size >= 1),
    executor_job_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    submitted_at timestamptz
);
CREATE INDEX job_submissions_unsubmitted_idx ON job_submissions (created_at)
    WHERE executor_job_id IS NULL;

CREATE TABLE job_submission_members (
    token uuid NOT NULL REFERENCES job_submissions (token) ON DELETE CASCADE,
    array_index integer NOT NULL CHECK (array_index >= 0),
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    PRIMARY KEY (token, array_index)
);
CREATE INDEX job_submission_members_job_idx ON job_submission_members (job_id, attempt);

-- The Batch API budget as the leader last saw it: calls per API in the last minute, throttles.
ALTER TABLE foreman_heartbeats ADD COLUMN api_usage jsonb NOT NULL DEFAULT '{}';

GRANT SELECT ON job_submissions, job_submission_members TO refinery_analyst;
GRANT INSERT, UPDATE, DELETE ON job_submissions, job_submission_members TO refinery_engineer;
GRANT ALL ON job_submissions, job_submission_members TO refinery_admin;
