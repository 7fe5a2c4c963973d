// Invoice status reconciliation (issue 6): makes amount_paid, balance_due and status true again
// from payments, refunds and due dates. Nightly per tenant at 02:30 school time (only invoices
// that changed or fell due since the last run), or on demand for one tenant, one invoice, or a
// full pass. Seed 003's paid-on-insert trigger is replaced by this job (see sql/0005).
import { sql } from 'kysely';
import { z } from 'zod';
import { defineJob, type JobContext } from './define-job.js';
import { reconcileTenant } from './invoices/reconcile-tenant.js';
import { addProblem, addTenantOutcome, emptyResult, type ReconciliationResult } from './invoices/result.js';

const uuid = (what: string) => z.guid({ error: `must be a UUID (the id of ${what})` });

export const invoiceReconciliationPayload = z.object({
  /** Only this tenant; all tenants when absent. */
  tenantId: uuid('a tenant').optional(),
  /** Only this invoice (its tenant is looked up; when tenantId is given too, they must match). */
  invoiceId: uuid('an invoice').optional(),
  /** Examine every invoice instead of the change queue and the due-date window. */
  full: z.boolean().optional(),
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
  const now = ctx.clock.now();
  const full = payload.full === true;

  let targets: { tenantId: string; invoiceId?: string }[];
  if (payload.invoiceId) {
    const tenantId = await findInvoiceTenant(ctx, payload.invoiceId, payload.tenantId);
    if (!tenantId) {
      addProblem(
        result,
        {
          kind: 'unknown_invoice',
          invoiceId: payload.invoiceId,
          ...(payload.tenantId ? { tenantId: payload.tenantId } : {}),
          message: payload.tenantId
            ? `no invoice ${payload.invoiceId} in tenant ${payload.tenantId}`
            : `no invoice has id ${payload.invoiceId}`,
        },
        maxListed,
      );
      return result;
    }
    targets = [{ tenantId, invoiceId: payload.invoiceId }];
  } else {
    // The engine role lists tenants (the tenants table is itself under RLS for school_app).
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM tenants ${payload.tenantId ? sql`WHERE id = ${payload.tenantId}` : sql``} ORDER BY slug
    `.execute(ctx.db);
    targets = rows.map((row) => ({ tenantId: row.id }));
  }
  if (payload.tenantId && targets.length === 0) {
    addProblem(
      result,
      { kind: 'unknown_tenant', tenantId: payload.tenantId, message: `no tenant has id ${payload.tenantId}` },
      maxListed,
    );
    return result;
  }

  for (const [index, target] of targets.entries()) {
    // Each tenant commits on its own, so a shutdown between tenants loses nothing; the retry
    // finds the finished tenants already true and writes nothing for them.
    ctx.signal.throwIfAborted();
    const outcome = await reconcileTenant(ctx.db, { ...target, now, full, maxListed });
    if (outcome) {
      addTenantOutcome(result, outcome, maxListed);
      ctx.log.info(
        {
          tenantId: target.tenantId,
          mode: outcome.mode,
          examined: outcome.examined,
          written: outcome.rowsWritten,
        },
        'invoices reconciled',
      );
    } else {
      addProblem(
        result,
        {
          kind: 'unknown_tenant',
          tenantId: target.tenantId,
          message: `tenant ${target.tenantId} no longer exists`,
        },
        maxListed,
      );
    }
    await ctx.progress(Math.round(((index + 1) / targets.length) * 100));
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
