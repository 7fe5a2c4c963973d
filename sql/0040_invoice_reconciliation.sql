-- Invoice reconciliation (issue 6): a change queue the nightly run reads instead of scanning every
-- invoice, and per-tenant bookkeeping for the due-date pass.
--
-- The status CHECK on invoices already allows partially_paid and overpaid (sql/0005), so no
-- constraint change is needed here.

-- Invoices whose derived values (amount_paid, balance_due, status) may be stale. Filled by
-- triggers on payments, invoice_items and invoices; drained by the job.
CREATE TABLE invoice_reconciliation_queue (
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  invoice_id uuid NOT NULL,
  queued_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, invoice_id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE
);

-- The tenant-local day the last tenant-wide run reconciled up to. The next run re-examines only
-- invoices whose due date lies between that day and today (they may have become overdue), plus
-- the queue. No row yet means the tenant was never reconciled: the first run is a full pass.
CREATE TABLE invoice_reconciliation_state (
  tenant_id       uuid NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  last_local_date date NOT NULL
);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['invoice_reconciliation_queue', 'invoice_reconciliation_state'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
      'WITH CHECK (tenant_id = app_current_tenant())', t);
  END LOOP;
END $$;

-- The job reconciles one tenant per transaction as school_app (RLS applies), so it may write
-- the derived invoice columns, drain its queue, keep its bookkeeping; nothing else.
GRANT SELECT, DELETE ON invoice_reconciliation_queue TO school_app;
GRANT SELECT, INSERT, UPDATE ON invoice_reconciliation_state TO school_app;
GRANT UPDATE (amount_paid, balance_due, status, status_changed_at, updated_at) ON invoices TO school_app;

-- Statement-level triggers with transition tables: a bulk import of payments queues each invoice
-- once per statement instead of once per row. ON CONFLICT DO UPDATE (not DO NOTHING) takes a row
-- lock on an existing entry, so a run that is draining the queue at that moment waits for this
-- transaction and cannot drop the entry before this change is visible to it.
-- SECURITY DEFINER: whoever writes payments (the school's app, an import) needs no privilege on
-- the queue itself. TG_ARGV[0] names the column holding the invoice id. Only invoices that still
-- exist are queued: deleting an invoice (or a tenant) cascades to its payments and items, whose
-- delete triggers would otherwise queue the very invoice being deleted.
CREATE FUNCTION invoice_reconciliation_enqueue_new() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  EXECUTE format(
    'INSERT INTO invoice_reconciliation_queue (tenant_id, invoice_id) '
    'SELECT DISTINCT r.tenant_id, r.%1$I FROM new_rows r '
    'WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = r.tenant_id AND i.id = r.%1$I) '
    'ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET queued_at = excluded.queued_at', TG_ARGV[0]);
  RETURN NULL;
END $$;

CREATE FUNCTION invoice_reconciliation_enqueue_old() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  EXECUTE format(
    'INSERT INTO invoice_reconciliation_queue (tenant_id, invoice_id) '
    'SELECT DISTINCT r.tenant_id, r.%1$I FROM old_rows r '
    'WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = r.tenant_id AND i.id = r.%1$I) '
    'ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET queued_at = excluded.queued_at', TG_ARGV[0]);
  RETURN NULL;
END $$;

-- An update may move a payment to another invoice: both the old and the new invoice change.
CREATE FUNCTION invoice_reconciliation_enqueue_both() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  EXECUTE format(
    'INSERT INTO invoice_reconciliation_queue (tenant_id, invoice_id) '
    'SELECT r.tenant_id, r.invoice_id FROM ('
    '  SELECT tenant_id, %1$I AS invoice_id FROM old_rows UNION SELECT tenant_id, %1$I FROM new_rows) r '
    'WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = r.tenant_id AND i.id = r.invoice_id) '
    'ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET queued_at = excluded.queued_at', TG_ARGV[0]);
  RETURN NULL;
END $$;

CREATE TRIGGER payments_reconcile_insert AFTER INSERT ON payments
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION invoice_reconciliation_enqueue_new('invoice_id');
CREATE TRIGGER payments_reconcile_update AFTER UPDATE ON payments
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION invoice_reconciliation_enqueue_both('invoice_id');
CREATE TRIGGER payments_reconcile_delete AFTER DELETE ON payments
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION invoice_reconciliation_enqueue_old('invoice_id');

CREATE TRIGGER invoice_items_reconcile_insert AFTER INSERT ON invoice_items
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION invoice_reconciliation_enqueue_new('invoice_id');
CREATE TRIGGER invoice_items_reconcile_update AFTER UPDATE ON invoice_items
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION invoice_reconciliation_enqueue_both('invoice_id');
CREATE TRIGGER invoice_items_reconcile_delete AFTER DELETE ON invoice_items
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION invoice_reconciliation_enqueue_old('invoice_id');

CREATE TRIGGER invoices_reconcile_insert AFTER INSERT ON invoices
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION invoice_reconciliation_enqueue_new('id');

-- Invoice updates are row-level so a WHEN clause can skip the job's own writes (it sets
-- app.invoice_reconciliation = 'on' for its transaction) and edits that change nothing the
-- reconciliation reads. A person setting a status by hand is queued and corrected next run.
CREATE FUNCTION invoice_reconciliation_enqueue_invoice() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  INSERT INTO invoice_reconciliation_queue (tenant_id, invoice_id)
  VALUES (NEW.tenant_id, NEW.id)
  ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET queued_at = excluded.queued_at;
  RETURN NULL;
END $$;

CREATE TRIGGER invoices_reconcile_update AFTER UPDATE ON invoices
  FOR EACH ROW
  WHEN (
    (OLD.total_amount, OLD.due_date, OLD.currency, OLD.status, OLD.amount_paid, OLD.balance_due)
      IS DISTINCT FROM (NEW.total_amount, NEW.due_date, NEW.currency, NEW.status, NEW.amount_paid, NEW.balance_due)
    AND coalesce(current_setting('app.invoice_reconciliation', true), '') <> 'on'
  )
  EXECUTE FUNCTION invoice_reconciliation_enqueue_invoice();
