// Open balances by how long they are overdue, as of a day (default the tenant's today): the usual
// current / 1-30 / 31-60 / 61-90 / over 90 buckets.
import { sql } from 'kysely';
import { z } from 'zod';
import { isoDate } from './filters.js';
import { defineTemplate } from './types.js';

export const invoiceAging = defineTemplate({
  id: 'invoice-aging',
  title: 'Invoice aging',
  description: 'Invoices with a balance due, by days overdue as of --as-of (default today)',
  formats: ['csv', 'xlsx', 'pdf'],
  filters: z.strictObject({ asOf: isoDate.optional() }),
  filterHelp: { asOf: 'age balances as of this day, YYYY-MM-DD (default the school today)' },
  columns: [
    { key: 'invoice_number', header: 'Invoice', type: 'text', width: 16 },
    { key: 'student_name', header: 'Student', type: 'text', width: 26 },
    { key: 'issue_date', header: 'Issued', type: 'date', width: 12 },
    { key: 'due_date', header: 'Due', type: 'date', width: 12 },
    { key: 'total_amount', header: 'Total', type: 'money', width: 13 },
    { key: 'amount_paid', header: 'Paid', type: 'money', width: 13 },
    { key: 'balance_due', header: 'Balance', type: 'money', width: 13 },
    { key: 'days_overdue', header: 'Days overdue', type: 'number', width: 9 },
    { key: 'bucket', header: 'Bucket', type: 'text', width: 10 },
  ],
  query: (f, env) => {
    const asOf = f.asOf ?? env.today;
    return sql`
      SELECT i.invoice_number, s.last_name || ', ' || s.first_name AS student_name, i.issue_date,
             i.due_date, i.total_amount, i.amount_paid, i.balance_due,
             greatest(${asOf}::date - i.due_date, 0) AS days_overdue,
             invoice_aging_bucket(i.due_date, ${asOf}::date) AS bucket
      FROM invoices i
      JOIN students s ON s.tenant_id = i.tenant_id AND s.id = i.student_id
      WHERE i.tenant_id = ${env.tenant.id}::uuid AND i.balance_due > 0
        AND i.status NOT IN ('draft', 'cancelled') AND i.issue_date <= ${asOf}::date
      ORDER BY i.due_date, i.invoice_number`;
  },
});
