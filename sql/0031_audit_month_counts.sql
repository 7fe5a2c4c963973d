-- Exact per-tenant, per-month row counts of audit_logs (issue 5), so retention can drop a month
-- and still tell each tenant exactly how many of its rows went, without scanning the month.
--
-- Kept by statement-level triggers with transition tables on the parent: one extra INSERT per
-- writing statement (not per row), grouped by tenant and month. Rows are append-only deltas, not
-- one counter per (tenant, month): an UPDATE of a shared counter would make every transaction of
-- a tenant that writes an audit row wait for the previous one to commit. Retention consumes the
-- deltas of the months it drops (DELETE ... RETURNING in the transaction that detaches them), and
-- partition rotation folds older deltas into one row per (tenant, month).
--
-- The month is the UTC month of created_at, as partition bounds are. Moving rows from the default
-- partition into a new month touches the partitions directly, changes no (tenant, month) and fires
-- nothing here. Not tracked: DML or TRUNCATE aimed at a single partition rather than the parent
-- (nothing in this engine does that to audit rows). Engine's own table, like partition_archives: written only through the SECURITY
-- DEFINER trigger function, never granted to school_app, so no RLS.
CREATE TABLE audit_log_month_counts (
  tenant_id uuid NOT NULL,
  month     date NOT NULL,
  rows      bigint NOT NULL
);
CREATE INDEX audit_log_month_counts_month_idx ON audit_log_month_counts (month);

CREATE FUNCTION audit_log_month_counts_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO audit_log_month_counts (tenant_id, month, rows)
    SELECT tenant_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, count(*)
    FROM new_rows GROUP BY 1, 2;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO audit_log_month_counts (tenant_id, month, rows)
    SELECT tenant_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, -count(*)
    FROM old_rows GROUP BY 1, 2;
  END IF;
  RETURN NULL;
END $$;

-- A trigger with transition tables handles one event, hence three.
CREATE TRIGGER audit_log_month_counts_insert AFTER INSERT ON audit_logs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_log_month_counts_track();
CREATE TRIGGER audit_log_month_counts_delete AFTER DELETE ON audit_logs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_log_month_counts_track();
CREATE TRIGGER audit_log_month_counts_update AFTER UPDATE ON audit_logs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION audit_log_month_counts_track();

-- TRUNCATE (of the parent, or cascading from tenants) empties the counts too.
CREATE FUNCTION audit_log_month_counts_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM audit_log_month_counts;
  RETURN NULL;
END $$;
CREATE TRIGGER audit_log_month_counts_truncate AFTER TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_month_counts_truncate();

-- ALWAYS: bulk loads (seed/generate.ts) run with session_replication_role = replica to skip
-- foreign-key checks, which would otherwise skip these counts as well.
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_log_month_counts_insert;
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_log_month_counts_delete;
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_log_month_counts_update;
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_log_month_counts_truncate;

-- Rows that already exist.
INSERT INTO audit_log_month_counts (tenant_id, month, rows)
SELECT tenant_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, count(*)
FROM audit_logs GROUP BY 1, 2;
