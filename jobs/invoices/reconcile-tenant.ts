// Reconcile one tenant's invoices in one transaction, as school_app under row-level security:
// even a query here that forgot its tenant filter could not read or write another school.
// All of the work is set-based SQL; Node only picks which invoices to look at and collects the
// report. Money stays numeric in PostgreSQL and travels as text.
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../../core/db.js';
import { type TenantTransaction, withTenant } from '../../core/tenant-scope.js';
import type { InvoiceProblem, ItemMismatch, TenantOutcome } from './result.js';

export const AUDIT_ACTOR = 'engine:invoice-reconciliation';
export const AUDIT_ACTION = 'status_change';

export interface TenantRunOptions {
  tenantId: string;
  /** The run's instant; the tenant-local date of it decides what is overdue. */
  now: Date;
  /** Re-examine every invoice of the tenant instead of the queue and the due-date window. */
  full: boolean;
  /** Reconcile this one invoice only (on-demand runs); the queue and bookkeeping stay as they are. */
  invoiceId?: string;
  /** Cap on listed problems and mismatches (counts are always complete). */
  maxListed: number;
}

interface TenantClock {
  today: string;
  time_zone: string;
  last_local_date: string | null;
}

interface Outcome {
  examined: number;
  written: number;
  audited: number;
  transitions: Record<string, number>;
  mismatch_count: number;
  mismatches: ItemMismatch[];
  problem_counts: Record<string, number>;
  problems: InvoiceProblem[];
}

/** Returns null when the tenant does not exist (deleted since it was listed, or never was). */
export async function reconcileTenant(db: Db, options: TenantRunOptions): Promise<TenantOutcome | null> {
  const { tenantId, now } = options;
  return withTenant(db, tenantId, async (trx) => {
    // Our own invoice updates must not queue the invoices again (see the trigger's WHEN clause).
    await sql`SELECT set_config('app.invoice_reconciliation', 'on', true)`.execute(trx);
    // The statement's cost estimate is inflated by jsonb_array_elements (100 rows a call), which
    // switched JIT on and spent seconds compiling a query that runs in milliseconds.
    await sql`SELECT set_config('jit', 'off', true)`.execute(trx);
    // Two runs for one tenant (a retry overlapping a scheduled run) take turns instead of both
    // writing audit entries for the same transition.
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`invoice-reconciliation:${tenantId}`}, 0))`.execute(
      trx,
    );
    const { rows } = await sql<TenantClock>`
      SELECT to_char((${now}::timestamptz AT TIME ZONE t.time_zone)::date, 'YYYY-MM-DD') AS today,
             t.time_zone, to_char(s.last_local_date, 'YYYY-MM-DD') AS last_local_date
      FROM tenants t
      LEFT JOIN invoice_reconciliation_state s ON s.tenant_id = t.id
      WHERE t.id = ${tenantId}`.execute(trx);
    const clock = rows[0];
    if (!clock) return null;

    const mode: TenantOutcome['mode'] = options.invoiceId
      ? 'invoice'
      : options.full || clock.last_local_date === null
        ? 'full'
        : 'incremental';
    if (mode === 'full') {
      // Everything is examined below, so whatever was queued is covered.
      await sql`DELETE FROM invoice_reconciliation_queue WHERE tenant_id = ${tenantId}`.execute(trx);
    } else {
      await collectCandidates(trx, tenantId, clock, options.invoiceId);
    }

    const outcome = await reconcile(trx, {
      tenantId,
      now,
      today: clock.today,
      timeZone: clock.time_zone,
      onlyCandidates: mode !== 'full',
      maxListed: options.maxListed,
    });

    if (mode !== 'invoice' && clock.last_local_date !== clock.today) {
      await sql`
        INSERT INTO invoice_reconciliation_state (tenant_id, last_local_date) VALUES (${tenantId}, ${clock.today})
        ON CONFLICT (tenant_id) DO UPDATE SET last_local_date = excluded.last_local_date`.execute(trx);
    }
    return {
      tenantId,
      mode,
      today: clock.today,
      timeZone: clock.time_zone,
      examined: outcome.examined,
      rowsWritten: outcome.written,
      auditRows: outcome.audited,
      transitions: outcome.transitions,
      itemMismatchCount: outcome.mismatch_count,
      itemMismatches: outcome.mismatches.map((m) => ({ ...m, tenantId })),
      problemCounts: outcome.problem_counts,
      problems: outcome.problems.map((p) => ({ ...p, tenantId })),
    };
  });
}

/**
 * The invoices an incremental run looks at: what the triggers queued (claimed here, in its own
 * statement, so the main statement's later snapshot sees every change that queued them) and
 * those whose due date lies between the last run's local day and today, which may have become
 * overdue without any row changing. A clock moved backwards re-examines the same window.
 */
async function collectCandidates(
  trx: TenantTransaction,
  tenantId: string,
  clock: TenantClock,
  invoiceId: string | undefined,
): Promise<void> {
  await sql`CREATE TEMP TABLE invoice_reconciliation_candidates (id uuid PRIMARY KEY) ON COMMIT DROP`.execute(
    trx,
  );
  if (invoiceId) {
    await sql`
      WITH claimed AS (
        DELETE FROM invoice_reconciliation_queue WHERE tenant_id = ${tenantId} AND invoice_id = ${invoiceId}
      )
      INSERT INTO invoice_reconciliation_candidates (id) VALUES (${invoiceId})`.execute(trx);
    return;
  }
  const last = clock.last_local_date ?? clock.today;
  await sql`
    WITH claimed AS (
      DELETE FROM invoice_reconciliation_queue WHERE tenant_id = ${tenantId} RETURNING invoice_id
    )
    INSERT INTO invoice_reconciliation_candidates (id)
    SELECT invoice_id FROM claimed
    UNION
    SELECT id FROM invoices
    WHERE tenant_id = ${tenantId}
      AND due_date >= least(${last}::date, ${clock.today}::date)
      AND due_date < greatest(${last}::date, ${clock.today}::date)
      AND status NOT IN ('draft', 'cancelled')`.execute(trx);
}

interface ReconcileParams {
  tenantId: string;
  now: Date;
  today: string;
  timeZone: string;
  onlyCandidates: boolean;
  maxListed: number;
}

/**
 * One statement: compute what each invoice's paid amount, balance and status should be, update
 * only the rows where any of them differ, write one audit entry per status change, and return
 * the report. Payments that are negative or in another currency than their invoice are left out
 * of the sums and reported for a person to correct.
 */
async function reconcile(trx: TenantTransaction, p: ReconcileParams): Promise<Outcome> {
  const t = p.tenantId;
  const candidates: RawBuilder<unknown> = p.onlyCandidates
    ? sql`AND i.id IN (SELECT id FROM invoice_reconciliation_candidates)`
    : sql``;
  const { rows } = await sql<Outcome>`
    WITH target AS (
      SELECT i.id, i.invoice_number, i.currency, i.total_amount, i.due_date, i.status, i.amount_paid, i.balance_due
      FROM invoices i
      WHERE i.tenant_id = ${t} AND i.status NOT IN ('draft', 'cancelled') ${candidates}
    ),
    sums AS (
      SELECT p.invoice_id,
             sum(CASE WHEN p.kind = 'payment' THEN p.amount ELSE -p.amount END)
               FILTER (WHERE p.status = 'settled' AND p.amount >= 0 AND p.currency = t.currency) AS paid,
             jsonb_agg(jsonb_build_object('paymentId', p.id, 'kind', p.kind, 'status', p.status,
                                          'amount', p.amount::text, 'currency', p.currency))
               FILTER (WHERE p.amount < 0) AS negative,
             jsonb_agg(jsonb_build_object('paymentId', p.id, 'kind', p.kind, 'status', p.status,
                                          'amount', p.amount::text, 'currency', p.currency))
               FILTER (WHERE p.currency <> t.currency) AS foreign_currency
      FROM payments p
      JOIN target t ON t.id = p.invoice_id
      WHERE p.tenant_id = ${t}
      GROUP BY p.invoice_id
    ),
    items AS (
      SELECT it.invoice_id, sum(it.line_total) AS items_total
      FROM invoice_items it
      JOIN target t ON t.id = it.invoice_id
      WHERE it.tenant_id = ${t}
      GROUP BY it.invoice_id
    ),
    computed AS (
      SELECT t.*, n.new_paid, t.total_amount - n.new_paid AS new_balance, items.items_total, s.negative, s.foreign_currency,
             CASE WHEN t.total_amount - n.new_paid < 0 THEN 'overpaid'
                  WHEN t.total_amount - n.new_paid = 0 THEN 'paid'
                  -- due "today" in the school's own time zone is not overdue yet
                  WHEN t.due_date < ${p.today}::date THEN 'overdue'
                  WHEN n.new_paid > 0 THEN 'partially_paid'
                  WHEN t.status IN ('pending', 'sent') THEN t.status
                  -- was paid (or overdue, or partly paid) and nothing settled remains
                  ELSE 'pending'
             END AS new_status
      FROM target t
      LEFT JOIN sums s ON s.invoice_id = t.id
      LEFT JOIN items ON items.invoice_id = t.id
      CROSS JOIN LATERAL (SELECT coalesce(s.paid, 0) AS new_paid) n
    ),
    changed AS (
      UPDATE invoices i
      SET amount_paid = c.new_paid,
          balance_due = c.new_balance,
          status = c.new_status,
          status_changed_at = CASE WHEN c.new_status <> c.status THEN ${p.now}::timestamptz ELSE i.status_changed_at END
      FROM computed c
      WHERE i.tenant_id = ${t} AND i.id = c.id
        AND (i.amount_paid, i.balance_due, i.status) IS DISTINCT FROM (c.new_paid, c.new_balance, c.new_status)
        -- A row someone changed after it was read is skipped: their change queued it again.
        AND (i.amount_paid, i.balance_due, i.status) = (c.amount_paid, c.balance_due, c.status)
      RETURNING c.id, c.invoice_number, c.currency, c.total_amount, c.due_date,
                c.status AS old_status, c.amount_paid AS old_paid, c.balance_due AS old_balance,
                c.new_status, c.new_paid, c.new_balance
    ),
    audited AS (
      INSERT INTO audit_logs (tenant_id, created_at, actor, action, resource_type, resource_id, old_values, new_values, reason)
      SELECT ${t}, ${p.now}::timestamptz, ${AUDIT_ACTOR}, ${AUDIT_ACTION}, 'invoice', ch.id,
             jsonb_build_object('status', ch.old_status, 'amount_paid', ch.old_paid::text, 'balance_due', ch.old_balance::text),
             jsonb_build_object('status', ch.new_status, 'amount_paid', ch.new_paid::text, 'balance_due', ch.new_balance::text),
             CASE ch.new_status
               WHEN 'paid' THEN format('settled payments less refunds (%s %s) cover the total', ch.new_paid, ch.currency)
               WHEN 'overpaid' THEN format('settled payments less refunds (%s %s) exceed the total of %s: %s is owed back as credit',
                                           ch.new_paid, ch.currency, ch.total_amount, -ch.new_balance)
               WHEN 'overdue' THEN format('due %s has passed (today is %s in %s) with %s %s outstanding; %s paid',
                                          ch.due_date, ${p.today}::text, ${p.timeZone}::text, ch.new_balance, ch.currency, ch.new_paid)
               WHEN 'partially_paid' THEN format('%s of %s %s paid; balance %s due %s',
                                                 ch.new_paid, ch.total_amount, ch.currency, ch.new_balance, ch.due_date)
               ELSE format('nothing settled remains (payments less refunds: %s %s) and the due date %s has not passed',
                           ch.new_paid, ch.currency, ch.due_date)
             END
      FROM changed ch
      WHERE ch.old_status <> ch.new_status
      RETURNING 1
    ),
    problems AS (
      SELECT 'negative_payment_amount' AS kind, c.id, c.invoice_number, e AS payment,
             format('payment %s has a negative amount (%s %s); it is left out of the paid amount for a person to correct',
                    e->>'paymentId', e->>'amount', e->>'currency') AS message
      FROM computed c CROSS JOIN LATERAL jsonb_array_elements(c.negative) e
      UNION ALL
      SELECT 'payment_currency_mismatch', c.id, c.invoice_number, e,
             format('payment %s is in %s but the invoice is in %s; it is left out of the paid amount',
                    e->>'paymentId', e->>'currency', c.currency)
      FROM computed c CROSS JOIN LATERAL jsonb_array_elements(c.foreign_currency) e
      UNION ALL
      SELECT 'refunds_exceed_payments', c.id, c.invoice_number, NULL,
             format('settled refunds exceed settled payments by %s %s', -c.new_paid, c.currency)
      FROM computed c WHERE c.new_paid < 0
    )
    SELECT
      (SELECT count(*) FROM computed)::int AS examined,
      (SELECT count(*) FROM changed)::int AS written,
      (SELECT count(*) FROM audited)::int AS audited,
      (SELECT coalesce(jsonb_object_agg(k, n), '{}')
         FROM (SELECT old_status || '->' || new_status AS k, count(*) AS n
               FROM changed WHERE old_status <> new_status GROUP BY 1) x) AS transitions,
      (SELECT count(*) FROM computed WHERE items_total <> total_amount)::int AS mismatch_count,
      (SELECT coalesce(jsonb_agg(x ORDER BY x->>'invoiceNumber'), '[]')
         FROM (SELECT jsonb_build_object('invoiceId', id, 'invoiceNumber', invoice_number,
                                         'totalAmount', total_amount::text, 'itemsTotal', items_total::text,
                                         'difference', (total_amount - items_total)::text) AS x
               FROM computed WHERE items_total <> total_amount
               ORDER BY invoice_number LIMIT ${p.maxListed}) m) AS mismatches,
      (SELECT coalesce(jsonb_object_agg(kind, n), '{}')
         FROM (SELECT kind, count(*) AS n FROM problems GROUP BY kind) x) AS problem_counts,
      (SELECT coalesce(jsonb_agg(x), '[]')
         FROM (SELECT jsonb_strip_nulls(jsonb_build_object('kind', kind, 'invoiceId', id, 'invoiceNumber', invoice_number,
                                                           'paymentId', payment->>'paymentId', 'message', message)) AS x
               FROM problems ORDER BY invoice_number, kind LIMIT ${p.maxListed}) pr) AS problems
  `.execute(trx);
  return rows[0]!;
}
