// Invoice status reconciliation (issue 6): makes amount_paid, balance_due and status true again
// from payments, refunds and due dates. Nightly per tenant at 02:30 school time (only invoices
// that changed or fell due since the last run), or on demand for one tenant, one invoice, or a
// full pass. Seed 003's paid-on-insert trigger is replaced by this job (see sql/0005).
import { sql } from 'kysely';
import { z } from 'zod';
import { withTenant } from '../core/tenant-scope.js';
import { defineJob, type JobContext } from './define-job.js';
import { reconcileInvoices } from './invoices/reconcile.js';
import { addProblem, addRunTotals, emptyResult, type ReconciliationResult } from './invoices/result.js';

const uuid = (what: string) => z.guid({ error: `must be a UUID (the id of ${what})` });

export const invoiceReconciliationPayload = z.object({
  /** Only this tenant; all tenants when absent. */
  tenantId: uuid('a tenant').optional(),
  /** Only this invoice (its tenant is looked up; when tenantId is given too, they must match). */
  invoiceId: uuid('an invoice').optional(),
  /** Examine every invoice instead of the change queue and the due-date window. */
  full: z.boolean().optional(),
  /** Recompute the kept items totals from the items first (after writes that bypassed triggers). */
  recountItems: z.boolean().optional(),
});

export type InvoiceReconciliationPayload = z.infer<typeof invoiceReconciliationPayload>;

export const invoiceReconciliation = defineJob({
  name: 'invoice-reconciliation',
  description: 'Recompute invoice amount paid, balance and status from payments, refunds and due dates',
  payload: invoiceReconciliationPayload,
  // Per tenant, so "overdue" turns over shortly after midnight in the school's own time zone.
  schedule: { cron: '30 2 * * *', perTenant: true },
  queue: { concurrency: 2, attempts: 3, backoffMs: 30_000 },
  run: runInvoiceReconciliation,
});

export async function runInvoiceReconciliation(
  payload: InvoiceReconciliationPayload,
  ctx: JobContext,
): Promise<ReconciliationResult> {
  const result = emptyResult();
  const maxListed = ctx.config.INVOICE_RECONCILIATION_MAX_LISTED;
  const base = {
    now: ctx.clock.now(),
    full: payload.full === true,
    recountItems: payload.recountItems === true,
    maxListed,
  };

  if (payload.invoiceId) {
    const tenantId = await findInvoiceTenant(ctx, payload.invoiceId, payload.tenantId);
    if (!tenantId) {
      const where = payload.tenantId ? ` in tenant ${payload.tenantId}` : '';
      addProblem(
        result,
        {
          kind: 'unknown_invoice',
          invoiceId: payload.invoiceId,
          ...(payload.tenantId ? { tenantId: payload.tenantId } : {}),
          message: `no invoice ${payload.invoiceId}${where}; nothing was reconciled`,
        },
        maxListed,
      );
      return result;
    }
    const totals = await withTenant(ctx.db, tenantId, (trx) =>
      reconcileInvoices(trx, { ...base, tenantIds: [tenantId], invoiceId: payload.invoiceId }),
    );
    addRunTotals(result, totals, maxListed);
    return result;
  }

  if (payload.tenantId) {
    // One school (the nightly per-tenant schedule, or on demand): as school_app under RLS.
    const tenantId = payload.tenantId;
    const totals = await withTenant(ctx.db, tenantId, (trx) =>
      reconcileInvoices(trx, { ...base, tenantIds: [tenantId] }),
    );
    if (totals.tenants.length === 0) {
      addProblem(
        result,
        { kind: 'unknown_tenant', tenantId, message: `no tenant has id ${tenantId}; nothing was reconciled` },
        maxListed,
      );
    }
    addRunTotals(result, totals, maxListed);
    return result;
  }

  // Every school: maintenance transactions over batches of tenants, so one scan of payments
  // serves a whole batch instead of one scan per school. Every statement filters tenant_id
  // through the batch's list. A batch commits on its own: a shutdown between batches loses
  // nothing, and the retry finds the finished tenants already true and writes nothing there.
  const { rows } = await sql<{ id: string }>`SELECT id FROM tenants ORDER BY id`.execute(ctx.db);
  const batchSize = ctx.config.INVOICE_RECONCILIATION_TENANTS_PER_TRANSACTION;
  for (let start = 0; start < rows.length; start += batchSize) {
    ctx.signal.throwIfAborted();
    const tenantIds = rows.slice(start, start + batchSize).map((row) => row.id);
    const totals = await ctx.db
      .transaction()
      .execute((trx) => reconcileInvoices(trx, { ...base, tenantIds }));
    addRunTotals(result, totals, maxListed);
    ctx.log.info(
      { tenants: tenantIds.length, examined: totals.examined, written: totals.rowsWritten },
      'invoices reconciled',
    );
    await ctx.progress(Math.round((Math.min(start + batchSize, rows.length) / rows.length) * 100));
  }
  return result;
}

async function findInvoiceTenant(
  ctx: JobContext,
  invoiceId: string,
  tenantId: string | undefined,
): Promise<string | undefined> {
  const { rows } = await sql<{ tenant_id: string }>`
    SELECT tenant_id FROM invoices
    WHERE id = ${invoiceId} ${tenantId ? sql`AND tenant_id = ${tenantId}` : sql``}
  `.execute(ctx.db);
  return rows[0]?.tenant_id;
}
