-- Users and roles, and protection of sealed results.
--
-- Three group roles (NOLOGIN); a person's login role is a member of one of them:
--   refinery_analyst   reads the catalog, creates analyses and process jobs (runs applications)
--   refinery_engineer  an analyst who also operates jobs
--   refinery_admin     everything, including sealing, forcing re-runs and deleting data
-- Roles belong to the cluster, not the database, so they are created only when absent.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'refinery_analyst') THEN
        CREATE ROLE refinery_analyst NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'refinery_engineer') THEN
        CREATE ROLE refinery_engineer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'refinery_admin') THEN
        CREATE ROLE refinery_admin NOLOGIN;
    END IF;
END
$$;

GRANT refinery_analyst TO refinery_engineer;
GRANT refinery_engineer TO refinery_admin;

GRANT USAGE ON SCHEMA public TO refinery_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO refinery_analyst;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO refinery_analyst;
GRANT INSERT, UPDATE, DELETE ON analyses, analysis_targets, files TO refinery_analyst;
GRANT INSERT ON jobs TO refinery_analyst;
-- enqueue_job's ON CONFLICT (dedupe_key) DO UPDATE needs this one column
GRANT UPDATE (dedupe_key) ON jobs TO refinery_analyst;
GRANT INSERT, UPDATE, DELETE ON jobs, job_attempts, foreman_heartbeats TO refinery_engineer;
GRANT ALL ON ALL TABLES IN SCHEMA public TO refinery_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO refinery_admin;

-- Whether the current role may change sealed results: admins (and superusers, who are members
-- of every role), and the platform's own role, which is not in any of the groups.
CREATE FUNCTION refinery_may_change_sealed() RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(current_user, 'refinery_admin', 'MEMBER')
        OR NOT pg_has_role(current_user, 'refinery_analyst', 'MEMBER')
$$;

-- A SUCCEEDED analysis is sealed: only admins alter or delete it, and only admins seal.
CREATE FUNCTION protect_sealed_analyses() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF refinery_may_change_sealed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'SUCCEEDED' THEN
        RAISE EXCEPTION 'analysis % is sealed (SUCCEEDED): only an admin may change it', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'SUCCEEDED' THEN
        RAISE EXCEPTION 'only an admin may seal an analysis (set it SUCCEEDED)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER analyses_protect_sealed
    BEFORE INSERT OR UPDATE OR DELETE ON analyses
    FOR EACH ROW EXECUTE FUNCTION protect_sealed_analyses();

-- Files and target links of a sealed analysis are as protected as the analysis itself.
CREATE FUNCTION protect_sealed_children() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    old_analysis bigint;
    new_analysis bigint;
BEGIN
    IF refinery_may_change_sealed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_analysis := OLD.analysis_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        new_analysis := NEW.analysis_id;
    END IF;
    IF EXISTS (
        SELECT FROM analyses
         WHERE id IN (old_analysis, new_analysis) AND status = 'SUCCEEDED'
    ) THEN
        RAISE EXCEPTION 'results of sealed analysis % are read-only: only an admin may change them',
            coalesce(old_analysis, new_analysis)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_TABLE_NAME = 'files' AND TG_OP IN ('UPDATE', 'DELETE') AND OLD.kind = 'original' THEN
        RAISE EXCEPTION 'original files belong to imported data: only an admin may change them'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER files_protect_sealed
    BEFORE INSERT OR UPDATE OR DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION protect_sealed_children();
CREATE TRIGGER analysis_targets_protect_sealed
    BEFORE INSERT OR UPDATE OR DELETE ON analysis_targets
    FOR EACH ROW EXECUTE FUNCTION protect_sealed_children();
