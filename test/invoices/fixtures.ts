// Hand-built schools, invoices and payments for the reconciliation tests: each invoice is made
// for one case, so a test reads as "this invoice, these payments, this status".
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';

export interface School {
  tenantId: string;
  studentId: string;
}

export async function createSchool(
  db: Db,
  slug: string,
  timeZone: string,
  currency = 'USD',
): Promise<School> {
  const tenantId = randomUUID();
  const studentId = randomUUID();
  await sql`INSERT INTO tenants (id, slug, name, time_zone, currency)
            VALUES (${tenantId}, ${slug}, ${`School ${slug}`}, ${timeZone}, ${currency})`.execute(db);
  await sql`INSERT INTO students (id, tenant_id, student_number, first_name, last_name, grade_level, admission_date)
            VALUES (${studentId}, ${tenantId}, 'S-1', 'Zoë', 'O''Brien', '5', '2025-09-01')`.execute(db);
  return { tenantId, studentId };
}

export interface InvoiceSpec {
  number: string;
  total: string;
  due: string;
  status?: string;
  currency?: string;
  /** Line totals; defaults to one line equal to the total. Pass [] for no items. */
  items?: string[];
}

let sequence = 0;

export async function createInvoice(db: Db, school: School, spec: InvoiceSpec): Promise<string> {
  const id = randomUUID();
  await sql`INSERT INTO invoices (id, tenant_id, invoice_number, student_id, currency, issue_date, due_date,
                                  total_amount, amount_paid, balance_due, status)
            VALUES (${id}, ${school.tenantId}, ${spec.number}, ${school.studentId}, ${spec.currency ?? 'USD'},
                    '2026-01-01', ${spec.due}, ${spec.total}, 0, ${spec.total}, ${spec.status ?? 'pending'})`.execute(
    db,
  );
  for (const line of spec.items ?? [spec.total]) {
    await sql`INSERT INTO invoice_items (tenant_id, invoice_id, description, quantity, unit_price)
              VALUES (${school.tenantId}, ${id}, 'Tuition', 1, ${line})`.execute(db);
  }
  return id;
}

export interface PaymentSpec {
  amount: string;
  kind?: 'payment' | 'refund';
  status?: 'pending' | 'settled' | 'failed' | 'voided';
  currency?: string;
}

export async function addPayment(
  db: Db,
  school: School,
  invoiceId: string,
  spec: PaymentSpec,
): Promise<string> {
  const id = randomUUID();
  sequence += 1;
  await sql`INSERT INTO payments (id, tenant_id, invoice_id, kind, status, amount, currency, transaction_id, paid_at)
            VALUES (${id}, ${school.tenantId}, ${invoiceId}, ${spec.kind ?? 'payment'}, ${spec.status ?? 'settled'},
                    ${spec.amount}, ${spec.currency ?? 'USD'}, ${`TX-${sequence}-${id}`}, '2026-02-01T10:00:00Z')`.execute(
    db,
  );
  return id;
}

export interface InvoiceRow {
  status: string;
  amount_paid: string;
  balance_due: string;
  updated_at: Date;
}

export async function invoice(db: Db, id: string): Promise<InvoiceRow> {
  const { rows } = await sql<InvoiceRow>`
    SELECT status, amount_paid::text, balance_due::text, updated_at FROM invoices WHERE id = ${id}`.execute(
    db,
  );
  return rows[0]!;
}

export async function auditRows(db: Db, tenantId?: string) {
  const { rows } = await sql<{
    resource_id: string;
    actor: string;
    action: string;
    old_values: Record<string, string>;
    new_values: Record<string, string>;
    reason: string;
  }>`SELECT resource_id, actor, action, old_values, new_values, reason FROM audit_logs
     WHERE actor = 'engine:invoice-reconciliation' ${tenantId ? sql`AND tenant_id = ${tenantId}` : sql``}
     ORDER BY id`.execute(db);
  return rows;
}

/** Each invoice's row version (xmin): unchanged versions prove a run wrote nothing. */
export async function invoiceVersions(db: Db): Promise<Record<string, string>> {
  const { rows } = await sql<{ id: string; v: string }>`SELECT id, xmin::text AS v FROM invoices`.execute(db);
  return Object.fromEntries(rows.map((row) => [row.id, row.v]));
}
