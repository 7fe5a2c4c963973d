// Reconcile the invoices of a set of tenants in one transaction, with set-based SQL: Node only
// says which tenants and invoices to look at and collects the report. Money stays numeric in
// PostgreSQL and travels as text.
//
// The same statements run in two settings (see jobs/invoice-reconciliation.ts): one tenant inside
// withTenant (school_app, row-level security applies), or many tenants in one maintenance
// transaction, where every statement filters tenant_id through the run's tenant list so one scan
// serves them all.
import { type RawBuilder, sql, type Transaction } from 'kysely';
import type { Database } from '../../core/database-types.js';
import type { InvoiceProblem, RunTotals } from './result.js';

export const AUDIT_ACTOR = 'engine:invoice-reconciliation';
export const AUDIT_ACTION = 'status_change';

// Each invoice's items total as the invoice_items triggers keep it on the row (sql/0075); NULL
// for an invoice without items, which is not checked. Summing every item again instead took
// about a third of a full pass (EXPLAIN ANALYZE on the benchmark data).
const keptItemsTotal = sql`CASE WHEN i.item_count > 0 THEN i.items_total END AS items_total`;

export interface ReconcileOptions {
  tenantIds: string[];
  /** The run's instant; each tenant's local date of it decides what is overdue. */
  now: Date;
  /** Re-examine every invoice instead of the change queue and the due-date window. */
  full: boolean;
  /** Reconcile this one invoice only (tenantIds then holds its tenant); queue and bookkeeping stay. */
  invoiceId?: string;
  /** Cap on listed problems and mismatches (counts are always complete). */
  maxListed: number;
  /** First recompute the tenants' kept items totals from their items, correcting any drift. */
  recountItems?: boolean;
}

export async function reconcileInvoices(
  trx: Transaction<Database>,
  options: ReconcileOptions,
): Promise<RunTotals> {
  // Our own invoice updates must not queue the invoices again (see the trigger's WHEN clause).
  await sql`SELECT set_config('app.invoice_reconciliation', 'on', true)`.execute(trx);
  // The main statement's estimated cost crosses jit_above_cost even for a few invoices, and
  // compiling it took seconds (measured) for work that runs in milliseconds.
  await sql`SELECT set_config('jit', 'off', true)`.execute(trx);
  // A full pass aggregates every payment in one go: room to hash in memory instead of spilling
  // to disk.
  await sql`SELECT set_config('work_mem', '64MB', true)`.execute(trx);
  // Incremental runs look at a few thousand invoices: with the default random_page_cost (4, for
  // spinning disks) the planner scanned all payments, items and invoices instead of using their
  // (tenant_id, invoice_id) indexes, measured at 10x slower. 1.1 suits SSDs and cached data.
  await sql`SELECT set_config('random_page_cost', '1.1', true)`.execute(trx);
  // Two runs over the same tenant (a retry overlapping a scheduled run) take turns instead of
  // both writing audit entries for one transition. Sorted ids: no lock-order deadlock.
  await sql`
    SELECT pg_advisory_xact_lock(hashtextextended('invoice-reconciliation:' || id, 0))
    FROM (SELECT id FROM unnest(${options.tenantIds}::uuid[]) AS id ORDER BY id OFFSET 0) sorted`.execute(
    trx,
  );
  // Before the queue is claimed: the recount makes item writers wait, and one holding a queue
  // row this run would then wait for could deadlock with it.
  const corrected = options.recountItems ? await recountItemTotals(trx, options.tenantIds) : [];

  await sql`
    CREATE TEMP TABLE invoice_reconciliation_tenants ON COMMIT DROP AS
    SELECT t.id AS tenant_id, t.time_zone, (${options.now}::timestamptz AT TIME ZONE t.time_zone)::date AS today,
           s.last_local_date, (${options.full}::boolean OR s.last_local_date IS NULL) AND ${!options.invoiceId}::boolean AS full_pass
    FROM tenants t
    LEFT JOIN invoice_reconciliation_state s ON s.tenant_id = t.id
    WHERE t.id = ANY(${options.tenantIds}::uuid[])`.execute(trx);
  await sql`CREATE TEMP TABLE invoice_reconciliation_candidates (tenant_id uuid, id uuid, PRIMARY KEY (tenant_id, id)) ON COMMIT DROP`.execute(
    trx,
  );
  if (options.invoiceId) {
    await sql`
      WITH claimed AS (
        DELETE FROM invoice_reconciliation_queue q USING invoice_reconciliation_tenants rt
        WHERE q.tenant_id = rt.tenant_id AND q.invoice_id = ${options.invoiceId}
      )
      INSERT INTO invoice_reconciliation_candidates (tenant_id, id)
      SELECT tenant_id, ${options.invoiceId}::uuid FROM invoice_reconciliation_tenants`.execute(trx);
  } else {
    await claimCandidates(trx);
  }

  // Temporary tables are never auto-analyzed; without statistics the planner guesses a
  // thousand rows and picks sorts and nested loops that cost seconds on a full pass.
  await sql`ANALYZE invoice_reconciliation_tenants, invoice_reconciliation_candidates`.execute(trx);
  const { rows } = await sql<{ all_full: boolean | null }>`
    SELECT bool_and(full_pass) AS all_full FROM invoice_reconciliation_tenants`.execute(trx);
  const allFull = rows[0]?.all_full === true;
  // A full pass reads every payment, item and invoice of its tenants: sequential scans feeding
  // hash aggregates and hash joins beat walking the (tenant_id, invoice_id) indexes, whose heap
  // visits are in random order (measured: the index plan took about 1.4x as long). The SSD setting
  // above is for the index lookups of incremental runs; a full pass goes back to the default.
  if (allFull) {
    await sql`SELECT set_config('random_page_cost', reset_val, true) FROM pg_settings WHERE name = 'random_page_cost'`.execute(
      trx,
    );
  }
  if (!allFull) await collectTargets(trx, options.tenantIds);
  const totals = await reconcileTargets(trx, options, allFull);
  if (corrected.length > 0) {
    totals.problemCounts.item_totals_corrected = corrected.length;
    totals.problems = [...corrected, ...totals.problems].slice(0, options.maxListed);
  }

  if (!options.invoiceId) {
    await sql`
      INSERT INTO invoice_reconciliation_state (tenant_id, last_local_date)
      SELECT tenant_id, today FROM invoice_reconciliation_tenants
      ON CONFLICT (tenant_id) DO UPDATE SET last_local_date = excluded.last_local_date
      WHERE invoice_reconciliation_state.last_local_date IS DISTINCT FROM excluded.last_local_date`.execute(
      trx,
    );
  }
  return totals;
}

/**
 * The safety net for item writes that bypassed the invoice_items triggers (sql/0075): recompute
 * the tenants' items totals from their items, correct the invoices whose kept total differs (item
 * writes wait until this transaction ends), and report each correction.
 */
async function recountItemTotals(trx: Transaction<Database>, tenantIds: string[]): Promise<InvoiceProblem[]> {
  const { rows } = await sql<InvoiceProblem>`
    SELECT 'item_totals_corrected' AS kind, tenant_id AS "tenantId", invoice_id AS "invoiceId",
           invoice_number AS "invoiceNumber",
           format('the kept items total was %s (%s items) but the items add up to %s (%s items); corrected',
                  kept_total, kept_count, actual_total, actual_count) AS message
    FROM invoice_items_total_recount(${tenantIds}::uuid[])
    ORDER BY tenant_id, invoice_number`.execute(trx);
  return rows;
}

/**
 * The invoices to examine when some tenants of the batch run incrementally. Two branches instead
 * of an OR, so each gets its own plan: a sequential scan for tenants on a full pass, index
 * lookups for the queued invoices of the others. A temporary table rather than a CTE: the
 * aggregates need its row count and distinct values to hash instead of sort (a CTE has no
 * statistics); a small sample is plenty for that.
 */
async function collectTargets(trx: Transaction<Database>, tenantIds: string[]): Promise<void> {
  await sql`
    CREATE TEMP TABLE invoice_reconciliation_target ON COMMIT DROP AS
    SELECT i.id, i.tenant_id, i.invoice_number, i.currency, i.total_amount, i.due_date, i.status,
           i.amount_paid, i.balance_due, ${keptItemsTotal}, rt.today, rt.time_zone
    FROM invoice_reconciliation_tenants rt
    JOIN invoices i ON i.tenant_id = rt.tenant_id
    WHERE rt.full_pass AND i.tenant_id = ANY(${tenantIds}::uuid[]) AND i.status NOT IN ('draft', 'cancelled')
    UNION ALL
    SELECT i.id, i.tenant_id, i.invoice_number, i.currency, i.total_amount, i.due_date, i.status,
           i.amount_paid, i.balance_due, ${keptItemsTotal}, rt.today, rt.time_zone
    FROM invoice_reconciliation_tenants rt
    JOIN invoice_reconciliation_candidates c ON c.tenant_id = rt.tenant_id
    JOIN invoices i ON i.tenant_id = c.tenant_id AND i.id = c.id
    WHERE NOT rt.full_pass AND i.tenant_id = ANY(${tenantIds}::uuid[]) AND i.status NOT IN ('draft', 'cancelled')`.execute(
    trx,
  );
  await sql`SELECT set_config('default_statistics_target', '10', true)`.execute(trx);
  await sql`ANALYZE invoice_reconciliation_target`.execute(trx);
}

/**
 * What an incremental run looks at: what the triggers queued (claimed here, in its own statement,
 * so the main statement's later snapshot sees every change that queued them), and invoices whose
 * due date lies between the last run's local day and today, which may have become overdue
 * without any row changing (a clock moved backwards re-examines the same window). A full pass
 * looks at everything, so its tenants' queue entries are simply dropped.
 */
async function claimCandidates(trx: Transaction<Database>): Promise<void> {
  await sql`
    WITH claimed AS (
      DELETE FROM invoice_reconciliation_queue q USING invoice_reconciliation_tenants rt
      WHERE q.tenant_id = rt.tenant_id
      RETURNING q.tenant_id, q.invoice_id, rt.full_pass
    )
    INSERT INTO invoice_reconciliation_candidates (tenant_id, id)
    SELECT tenant_id, invoice_id FROM claimed WHERE NOT full_pass
    UNION
    SELECT i.tenant_id, i.id
    FROM invoice_reconciliation_tenants rt
    JOIN invoices i ON i.tenant_id = rt.tenant_id
    WHERE NOT rt.full_pass
      AND i.due_date >= least(rt.last_local_date, rt.today)
      AND i.due_date < greatest(rt.last_local_date, rt.today)
      AND i.status NOT IN ('draft', 'cancelled')`.execute(trx);
}

/**
 * One statement: compute what each invoice's paid amount, balance and status should be, update
 * only the rows where any of them differ, write one audit entry per status change, and return
 * the report. Payments that are negative or in another currency than their invoice are left out
 * of the sums and reported for a person to correct.
 */
async function reconcileTargets(
  trx: Transaction<Database>,
  p: ReconcileOptions,
  allFull: boolean,
): Promise<RunTotals> {
  const ids = sql`${p.tenantIds}::uuid[]`;
  // Every tenant on a full pass: read invoices directly, with their table statistics, instead of
  // copying them into a temporary table first.
  const target = allFull
    ? sql`SELECT i.id, i.tenant_id, i.invoice_number, i.currency, i.total_amount, i.due_date, i.status,
                 i.amount_paid, i.balance_due, ${keptItemsTotal}, rt.today, rt.time_zone
          FROM invoice_reconciliation_tenants rt
          JOIN invoices i ON i.tenant_id = rt.tenant_id
          WHERE i.tenant_id = ANY(${ids}) AND i.status NOT IN ('draft', 'cancelled')`
    : sql`SELECT * FROM invoice_reconciliation_target`;
  // On a full pass every payment of the batch's tenants is wanted; otherwise only those of the
  // examined invoices, found by index.
  const restrict = (tenant: RawBuilder<unknown>, invoice: RawBuilder<unknown>) =>
    allFull ? sql`` : sql`AND (${tenant}, ${invoice}) IN (SELECT tenant_id, id FROM target)`;
  const { rows } = await sql<RunTotals>`
    WITH target AS NOT MATERIALIZED (${target}),
    -- Aggregated straight from payments (no join to the invoices first): one pass, grouped by
    -- invoice. Payments in one currency, the invoice's, are the rule; lo/hi flag the rest.
    sums AS (
      SELECT p.tenant_id, p.invoice_id, min(p.currency) AS lo, max(p.currency) AS hi,
             sum(CASE WHEN p.kind = 'payment' THEN p.amount ELSE -p.amount END)
               FILTER (WHERE p.status = 'settled' AND p.amount >= 0) AS paid,
             count(*) FILTER (WHERE p.amount < 0) AS negative
      FROM payments p
      WHERE p.tenant_id = ANY(${ids}) ${restrict(sql`p.tenant_id`, sql`p.invoice_id`)}
      GROUP BY p.tenant_id, p.invoice_id
    ),
    computed AS NOT MATERIALIZED (
      SELECT t.*, n.new_paid, t.total_amount - n.new_paid AS new_balance,
             coalesce(s.negative, 0) + CASE WHEN s.lo <> t.currency OR s.hi <> t.currency THEN 1 ELSE 0 END AS suspect,
             CASE WHEN t.total_amount - n.new_paid < 0 THEN 'overpaid'
                  WHEN t.total_amount - n.new_paid = 0 THEN 'paid'
                  -- due "today" in the school's own time zone is not overdue yet
                  WHEN t.due_date < t.today THEN 'overdue'
                  WHEN n.new_paid > 0 THEN 'partially_paid'
                  WHEN t.status IN ('pending', 'sent') THEN t.status
                  -- was paid (or overdue, or partly paid) and nothing settled remains
                  ELSE 'pending'
             END AS new_status
      FROM target t
      LEFT JOIN sums s ON s.tenant_id = t.tenant_id AND s.invoice_id = t.id
      CROSS JOIN LATERAL (
        SELECT CASE WHEN s.lo IS NULL THEN 0
                    WHEN s.lo = t.currency AND s.hi = t.currency THEN coalesce(s.paid, 0)
                    -- mixed currencies (rare): sum only the invoice's own currency
                    ELSE (SELECT coalesce(sum(CASE WHEN x.kind = 'payment' THEN x.amount ELSE -x.amount END), 0)
                          FROM payments x
                          WHERE x.tenant_id = t.tenant_id AND x.invoice_id = t.id AND x.currency = t.currency
                            AND x.status = 'settled' AND x.amount >= 0)
               END AS new_paid) n
    ),
    -- Only the invoices that need a write or a report are kept past this point. Materializing every
    -- examined invoice (wide rows, read again by each part of the report) cost about a fifth of a
    -- full pass (backend CPU, alternating runs); what is examined is counted from the targets.
    flagged AS (
      SELECT * FROM computed
      WHERE (amount_paid, balance_due, status) IS DISTINCT FROM (new_paid, new_balance, new_status)
         OR suspect > 0 OR new_paid < 0 OR items_total <> total_amount
    ),
    examined AS (SELECT tenant_id, count(*) AS n FROM target GROUP BY tenant_id),
    changed AS (
      UPDATE invoices i
      SET amount_paid = c.new_paid,
          balance_due = c.new_balance,
          status = c.new_status,
          status_changed_at = CASE WHEN c.new_status <> c.status THEN ${p.now}::timestamptz ELSE i.status_changed_at END
      FROM (SELECT * FROM flagged
            WHERE (amount_paid, balance_due, status) IS DISTINCT FROM (new_paid, new_balance, new_status)) c
      WHERE i.tenant_id = c.tenant_id AND i.id = c.id AND i.tenant_id = ANY(${ids})
        -- A row someone changed after it was read is skipped: their change queued it again.
        AND (i.amount_paid, i.balance_due, i.status, i.total_amount, i.due_date, i.currency)
          = (c.amount_paid, c.balance_due, c.status, c.total_amount, c.due_date, c.currency)
      RETURNING c.id, c.tenant_id, c.invoice_number, c.currency, c.total_amount, c.due_date, c.today, c.time_zone,
                c.status AS old_status, c.amount_paid AS old_paid, c.balance_due AS old_balance,
                c.new_status, c.new_paid, c.new_balance
    ),
    audited AS (
      INSERT INTO audit_logs (tenant_id, created_at, actor, action, resource_type, resource_id, old_values, new_values, reason)
      SELECT ch.tenant_id, ${p.now}::timestamptz, ${AUDIT_ACTOR}, ${AUDIT_ACTION}, 'invoice', ch.id,
             jsonb_build_object('status', ch.old_status, 'amount_paid', ch.old_paid::text, 'balance_due', ch.old_balance::text),
             jsonb_build_object('status', ch.new_status, 'amount_paid', ch.new_paid::text, 'balance_due', ch.new_balance::text),
             CASE ch.new_status
               WHEN 'paid' THEN format('settled payments less refunds (%s %s) cover the total', ch.new_paid, ch.currency)
               WHEN 'overpaid' THEN format('settled payments less refunds (%s %s) exceed the total of %s: %s is owed back as credit',
                                           ch.new_paid, ch.currency, ch.total_amount, -ch.new_balance)
               WHEN 'overdue' THEN format('due %s has passed (today is %s in %s) with %s %s outstanding; %s paid',
                                          ch.due_date, ch.today, ch.time_zone, ch.new_balance, ch.currency, ch.new_paid)
               WHEN 'partially_paid' THEN format('%s of %s %s paid; balance %s due %s',
                                                 ch.new_paid, ch.total_amount, ch.currency, ch.new_balance, ch.due_date)
               ELSE format('nothing settled remains (payments less refunds: %s %s) and the due date %s has not passed',
                           ch.new_paid, ch.currency, ch.due_date)
             END
      FROM changed ch
      WHERE ch.old_status <> ch.new_status
      RETURNING 1
    ),
    -- The rare invoices holding a suspect payment are looked up again (by index) for the details;
    -- collecting them in the aggregate above would make PostgreSQL sort instead of hash.
    suspects AS (
      SELECT c.tenant_id, c.id, c.invoice_number, c.currency AS invoice_currency, p.id AS payment_id, p.amount, p.currency
      FROM payments p
      JOIN flagged c ON c.tenant_id = p.tenant_id AND c.id = p.invoice_id
      WHERE p.tenant_id = ANY(${ids}) AND p.invoice_id = ANY(ARRAY(SELECT id FROM flagged WHERE suspect > 0))
        AND (p.amount < 0 OR p.currency <> c.currency)
    ),
    problems AS (
      SELECT 'negative_payment_amount' AS kind, tenant_id, id, invoice_number, payment_id,
             format('payment %s has a negative amount (%s %s); it is left out of the paid amount for a person to correct',
                    payment_id, amount, currency) AS message
      FROM suspects WHERE amount < 0
      UNION ALL
      SELECT 'payment_currency_mismatch', tenant_id, id, invoice_number, payment_id,
             format('payment %s is in %s but the invoice is in %s; it is left out of the paid amount',
                    payment_id, currency, invoice_currency)
      FROM suspects WHERE currency <> invoice_currency
      UNION ALL
      SELECT 'refunds_exceed_payments', tenant_id, id, invoice_number, NULL,
             format('settled refunds exceed settled payments by %s %s', -new_paid, currency)
      FROM flagged WHERE new_paid < 0
    ),
    per_tenant AS (
      SELECT rt.tenant_id, rt.today, rt.time_zone, rt.full_pass,
             coalesce(e.n, 0) AS examined, coalesce(w.n, 0) AS written
      FROM invoice_reconciliation_tenants rt
      LEFT JOIN examined e ON e.tenant_id = rt.tenant_id
      LEFT JOIN (SELECT tenant_id, count(*) AS n FROM changed GROUP BY tenant_id) w ON w.tenant_id = rt.tenant_id
    )
    SELECT
      (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'tenantId', tenant_id, 'today', to_char(today, 'YYYY-MM-DD'), 'timeZone', time_zone,
                 'mode', CASE WHEN ${Boolean(p.invoiceId)}::boolean THEN 'invoice' WHEN full_pass THEN 'full' ELSE 'incremental' END,
                 'examined', examined, 'rowsWritten', written)), '[]')
         FROM per_tenant) AS tenants,
      (SELECT coalesce(sum(n), 0) FROM examined)::int AS examined,
      (SELECT count(*) FROM changed)::int AS "rowsWritten",
      (SELECT count(*) FROM audited)::int AS "auditRows",
      (SELECT coalesce(jsonb_object_agg(k, n), '{}')
         FROM (SELECT old_status || '->' || new_status AS k, count(*) AS n
               FROM changed WHERE old_status <> new_status GROUP BY 1) x) AS transitions,
      (SELECT count(*) FROM flagged WHERE items_total <> total_amount)::int AS "itemMismatchCount",
      (SELECT coalesce(jsonb_agg(x), '[]')
         FROM (SELECT jsonb_build_object('tenantId', tenant_id, 'invoiceId', id, 'invoiceNumber', invoice_number,
                                         'totalAmount', total_amount::text, 'itemsTotal', items_total::text,
                                         'difference', (total_amount - items_total)::text) AS x
               FROM flagged WHERE items_total <> total_amount
               ORDER BY tenant_id, invoice_number LIMIT ${p.maxListed}) m) AS "itemMismatches",
      (SELECT coalesce(jsonb_object_agg(kind, n), '{}')
         FROM (SELECT kind, count(*) AS n FROM problems GROUP BY kind) x) AS "problemCounts",
      (SELECT coalesce(jsonb_agg(x), '[]')
         FROM (SELECT jsonb_strip_nulls(jsonb_build_object('kind', kind, 'tenantId', tenant_id, 'invoiceId', id,
                                                           'invoiceNumber', invoice_number, 'paymentId', payment_id,
                                                           'message', message)) AS x
               FROM problems ORDER BY tenant_id, invoice_number, kind LIMIT ${p.maxListed}) pr) AS problems
  `.execute(trx);
  return rows[0]!;
}
