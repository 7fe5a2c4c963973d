-- Foundation: the RLS role, the tenant-context helper and shared trigger functions.

-- school_app is the role tenant-scoped work (exports, digests, API reads) switches to with
-- SET LOCAL ROLE. It has no BYPASSRLS and owns nothing, so every tenant table's policy applies
-- to it even when the engine itself connects as a superuser or as the schema owner.
-- Roles are cluster-wide, so creation is guarded: several databases (one per test file) share it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'school_app') THEN
    CREATE ROLE school_app NOLOGIN NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- another database's migration created it at the same moment
END $$;

-- The connecting role must be able to SET ROLE school_app.
DO $$
BEGIN
  EXECUTE format('GRANT school_app TO %I', current_user);
EXCEPTION WHEN OTHERS THEN
  NULL; -- superusers may already switch to any role; re-granting is harmless either way
END $$;

GRANT USAGE ON SCHEMA public TO school_app;

-- The tenant the current transaction works for, or NULL when none was set.
-- current_setting(..., true) returns '' (not NULL) once a SET LOCAL has ended in this session,
-- hence the NULLIF: an unset tenant must match no row instead of raising a cast error.
CREATE FUNCTION app_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

-- IANA zone names are validated by asking PostgreSQL to use them; declared IMMUTABLE so a CHECK
-- can call it (the zone database changes only with a PostgreSQL upgrade).
CREATE FUNCTION is_valid_time_zone(zone text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  AS $$
BEGIN
  PERFORM now() AT TIME ZONE zone;
  RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN false;
END $$;

-- Seed 000's update_updated_at_column, applied to every mutable table below.
CREATE FUNCTION touch_updated_at() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
