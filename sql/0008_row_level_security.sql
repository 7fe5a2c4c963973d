-- Row-level security on every tenant table: a query that forgets its tenant filter returns
-- nothing from another school. Policies read the transaction's app.tenant_id (see
-- app_current_tenant); with none set, no row matches. FORCE applies them to the table owner too;
-- only a superuser or a BYPASSRLS role sees across tenants: the engine connects as such a role
-- for maintenance (checked at start) and switches to school_app for tenant-scoped work.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'users', 'teachers', 'students', 'guardians', 'student_guardians', 'subjects', 'academic_terms',
    'classes', 'enrollments', 'grades', 'attendance', 'invoices', 'invoice_items', 'payments',
    'audit_logs', 'exports', 'email_deliveries'
  ] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
      'WITH CHECK (tenant_id = app_current_tenant())', t);
    EXECUTE format('GRANT SELECT ON %I TO school_app', t);
  END LOOP;
END $$;

-- The default partitions get the same policy; later partitions get it from partition rotation.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['attendance_default', 'audit_logs_default'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
      'WITH CHECK (tenant_id = app_current_tenant())', t);
  END LOOP;
END $$;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());
GRANT SELECT ON tenants TO school_app;

-- Tenant-scoped work writes only what it owns: export records, delivery records, a guardian's
-- opt-out, and its own audit entries.
GRANT INSERT, UPDATE ON exports TO school_app;
GRANT INSERT, UPDATE ON email_deliveries TO school_app;
GRANT UPDATE (digest_opt_out, digest_opted_out_at, updated_at) ON guardians TO school_app;
GRANT INSERT ON audit_logs TO school_app;
GRANT USAGE ON SEQUENCE audit_logs_id_seq TO school_app;
