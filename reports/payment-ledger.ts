// Every payment and refund (seed 003's view_payment_ledger), optionally within paid dates.
import { sql } from 'kysely';
import { z } from 'zod';
import { isoDate } from './filters.js';
import { defineTemplate } from './types.js';

export const paymentLedger = defineTemplate({
  id: 'payment-ledger',
  title: 'Payment ledger',
  description: 'Payments and refunds with invoice, student, method and amount; optional --from/--to',
  formats: ['csv', 'xlsx', 'pdf'],
  filters: z.strictObject({
    from: isoDate.optional(),
    to: isoDate.optional(),
    status: z.enum(['pending', 'settled', 'failed', 'voided']).optional(),
  }),
  filterHelp: {
    from: 'paid on or after, YYYY-MM-DD',
    to: 'paid on or before, YYYY-MM-DD',
    status: 'pending | settled | failed | voided',
  },
  columns: [
    { key: 'paid_on', header: 'Paid on', type: 'date', width: 12 },
    { key: 'invoice_number', header: 'Invoice', type: 'text', width: 16 },
    { key: 'student_name', header: 'Student', type: 'text', width: 26 },
    { key: 'kind', header: 'Kind', type: 'text', width: 8 },
    { key: 'status', header: 'Status', type: 'text', width: 9 },
    { key: 'method', header: 'Method', type: 'text', width: 13 },
    { key: 'amount', header: 'Amount', type: 'money', width: 13 },
    { key: 'currency', header: 'Currency', type: 'text', width: 8 },
    { key: 'transaction_id', header: 'Transaction', type: 'text', width: 20 },
  ],
  query: (f, env) => sql`
    SELECT (p.paid_at AT TIME ZONE ${env.tenant.timeZone})::date AS paid_on, i.invoice_number,
           s.last_name || ', ' || s.first_name AS student_name, p.kind, p.status, p.method,
           p.amount, p.currency, p.transaction_id
    FROM payments p
    JOIN invoices i ON i.tenant_id = p.tenant_id AND i.id = p.invoice_id
    JOIN students s ON s.tenant_id = i.tenant_id AND s.id = i.student_id
    WHERE p.tenant_id = ${env.tenant.id}::uuid
      AND (${f.from ?? null}::date IS NULL OR (p.paid_at AT TIME ZONE ${env.tenant.timeZone})::date >= ${f.from ?? null}::date)
      AND (${f.to ?? null}::date IS NULL OR (p.paid_at AT TIME ZONE ${env.tenant.timeZone})::date <= ${f.to ?? null}::date)
      AND (${f.status ?? null}::text IS NULL OR p.status = ${f.status ?? null})
    ORDER BY p.paid_at, p.id`,
});
