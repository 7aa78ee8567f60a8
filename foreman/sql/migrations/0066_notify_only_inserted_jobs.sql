-- Wake the foremen only when a statement inserted jobs. The follow-up inserts of the foreman's
-- own rounds (`INSERT … SELECT` of jobs that failed for good, usually none) fired the
-- statement trigger with no row, so an idle leader woke itself at once, round after round,
-- and kept a core and its database busy with nothing to do.
CREATE OR REPLACE FUNCTION notify_jobs_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted_jobs) THEN
        PERFORM pg_notify('refinery_jobs', 'inserted');
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER jobs_inserted_notify ON jobs;
CREATE TRIGGER jobs_inserted_notify
AFTER INSERT ON jobs
REFERENCING NEW TABLE AS inserted_jobs
FOR EACH STATEMENT EXECUTE FUNCTION notify_jobs_inserted();
