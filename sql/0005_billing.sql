-- Invoices, invoice items and payments (seeds 002 and 003).
--
-- Money is numeric(12,2) everywhere. invoices.amount_paid, balance_due and status are derived
-- values kept true by the invoice-reconciliation job; seed 003's update_invoice_status trigger is
-- deliberately not installed (it only reacts to inserted payments, missing refunds, voids,
-- deletions and due dates passing).
CREATE TABLE invoices (
  id                uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  invoice_number    varchar(50) NOT NULL,
  student_id        uuid NOT NULL,
  guardian_id       uuid,
  description       text,
  currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  issue_date        date NOT NULL,
  due_date          date NOT NULL,
  total_amount      numeric(12, 2) NOT NULL CHECK (total_amount >= 0),
  amount_paid       numeric(12, 2) NOT NULL DEFAULT 0,
  balance_due       numeric(12, 2) NOT NULL DEFAULT 0,
  -- Union of seed 002 (draft, sent, paid, cancelled) and seed 003 (pending, paid, overdue,
  -- cancelled), plus partially_paid and overpaid so a credit is visible instead of "paid".
  status            varchar(20) NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('draft', 'pending', 'sent', 'partially_paid', 'paid', 'overpaid', 'overdue', 'cancelled')),
  status_changed_at timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (due_date >= issue_date),
  UNIQUE (tenant_id, id),
  -- Seed 003 made invoice_number globally unique; numbering is each school's own business.
  UNIQUE (tenant_id, invoice_number),
  FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
  FOREIGN KEY (tenant_id, guardian_id) REFERENCES guardians (tenant_id, id)
);
CREATE INDEX invoices_student_idx ON invoices (tenant_id, student_id);
CREATE INDEX invoices_open_due_idx ON invoices (tenant_id, due_date) WHERE status NOT IN ('draft', 'cancelled', 'paid');

CREATE TABLE invoice_items (
  id          uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  invoice_id  uuid NOT NULL,
  description varchar(255) NOT NULL,
  quantity    numeric(10, 2) NOT NULL DEFAULT 1 CHECK (quantity > 0),
  unit_price  numeric(12, 2) NOT NULL,
  -- Seed 002: "should ideally be a calculated field".
  line_total  numeric(12, 2) GENERATED ALWAYS AS (round(quantity * unit_price, 2)) STORED,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX invoice_items_invoice_idx ON invoice_items (tenant_id, invoice_id);

-- A refund is its own row (kind 'refund', positive amount) so the ledger keeps both movements.
-- Only settled rows count toward what was paid. There is no sign CHECK on amount (seed 003 had
-- amount > 0): payments arrive from outside processors, and a negative amount already in the data
-- is reported by reconciliation rather than the import losing the row.
CREATE TABLE payments (
  id             uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  invoice_id     uuid NOT NULL,
  kind           varchar(10) NOT NULL DEFAULT 'payment' CHECK (kind IN ('payment', 'refund')),
  status         varchar(10) NOT NULL DEFAULT 'settled' CHECK (status IN ('pending', 'settled', 'failed', 'voided')),
  amount         numeric(12, 2) NOT NULL,
  currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  method         varchar(30) NOT NULL DEFAULT 'bank_transfer'
                   CHECK (method IN ('cash', 'card', 'bank_transfer', 'cheque', 'online', 'other')),
  transaction_id varchar(255),
  paid_at        timestamptz NOT NULL,
  received_by    uuid,
  notes          text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, received_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX payments_invoice_idx ON payments (tenant_id, invoice_id);
CREATE UNIQUE INDEX payments_transaction_key ON payments (tenant_id, transaction_id) WHERE transaction_id IS NOT NULL;

CREATE TRIGGER invoices_touch BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER payments_touch BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
