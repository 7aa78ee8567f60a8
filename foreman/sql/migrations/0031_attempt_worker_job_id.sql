-- Which executor job a worker ran as, in the worker's own words (on AWS Batch its
-- AWS_BATCH_JOB_ID, `<parent id>:<index>` for an array child). Beside the executor_job_id the
-- foreman recorded for the attempt, it shows that each child of an array resolved its own job.
ALTER TABLE job_attempts ADD COLUMN worker_executor_job_id text;
