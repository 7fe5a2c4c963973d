// One tenant's attendance rollup: full (rebuild everything from attendance) or incremental (only
// the students and months in the dirty set the attendance triggers fill).
//
// Concurrency: a session advisory lock per tenant makes a second run of the same tenant skip
// instead of racing. Dirty entries are claimed (moved to attendance_rollup_claims) in a short
// transaction of their own, so marks written during the run land in the dirty set for the next
// run and teachers never wait on the run. All rollup writes of a tenant, and the deletion of the
// claims they cover, commit in one transaction: a failure leaves the previous figures and the
// claims in place for the next run.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';
import type { TenantInfo } from '../../core/tenants.js';
import { type AttendancePolicy, attendancePolicyFrom } from './policy.js';
import {
  addChronicDays,
  addEnrollmentDays,
  appendMonthly,
  applyDaily,
  applyMonthly,
  monthlyRows,
  refreshChronic,
  refreshDaily,
  refreshEnrollments,
  refreshMonthly,
  stageFull,
  type Written,
} from './rollup-sql.js';

export interface RollupCounts {
  monthlyWritten: number;
  monthlyDeleted: number;
  dailyWritten: number;
  dailyDeleted: number;
  enrollmentsUpdated: number;
  chronicWritten: number;
  chronicDeleted: number;
}

export interface TenantRollupResult {
  tenantId: string;
  mode: 'full' | 'incremental' | 'skipped';
  /** Why a run was full or skipped. */
  reason?: string;
  /** Dirty (student, day) entries this run covered. */
  claimed: number;
  months: number;
  counts: RollupCounts;
  changed: boolean;
  ms: number;
  /** Milliseconds per step (claim, plan, monthly, append, daily, enrollments, chronic, unclaim...), to see where the time goes. */
  stepMs: Record<string, number>;
}

export interface RollupOptions {
  full: boolean;
  /** The tenant's local date, stamped on chronic flags that turn on. */
  today: string;
  workMem: string;
}

async function step<T>(steps: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    steps[name] = (steps[name] ?? 0) + Date.now() - started;
  }
}

const emptyCounts = (): RollupCounts => ({
  monthlyWritten: 0,
  monthlyDeleted: 0,
  dailyWritten: 0,
  dailyDeleted: 0,
  enrollmentsUpdated: 0,
  chronicWritten: 0,
  chronicDeleted: 0,
});

// Session lock keys: (class, tenant). The class is fixed; hashtext spreads tenants.
const LOCK_CLASS = 40_401;

export async function rollupTenant(
  db: Db,
  tenant: TenantInfo,
  options: RollupOptions,
): Promise<TenantRollupResult> {
  // Validate the policy before touching anything: a bad setting writes nothing.
  const policy = attendancePolicyFrom(tenant.settings);
  const started = Date.now();
  const counts = emptyCounts();
  const stepMs: Record<string, number> = {};
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`
      SELECT pg_try_advisory_lock(${LOCK_CLASS}, hashtext(${tenant.id})) AS locked`.execute(conn);
    if (!rows[0]?.locked) {
      return {
        tenantId: tenant.id,
        mode: 'skipped' as const,
        reason: 'another attendance rollup of this tenant is running',
        claimed: 0,
        months: 0,
        counts,
        changed: false,
        ms: Date.now() - started,
        stepMs,
      };
    }
    try {
      // Claim: its own short transaction (autocommit), never held while computing.
      await step(stepMs, 'claim', () =>
        sql`
        WITH moved AS (
          DELETE FROM attendance_rollup_dirty WHERE tenant_id = ${tenant.id}::uuid
          RETURNING tenant_id, student_id, attendance_date
        )
        INSERT INTO attendance_rollup_claims SELECT * FROM moved ON CONFLICT DO NOTHING`.execute(conn),
      );
      return await conn.transaction().execute(async (trx) => {
        await sql`SELECT set_config('work_mem', ${options.workMem}, true)`.execute(trx);
        // The day rule groups by (student, date), which contains the partition key: aggregating
        // partition by partition keeps each hash table small.
        await sql`SET LOCAL enable_partitionwise_aggregate = on`.execute(trx);
        const { rows: state } = await sql<{ same_policy: boolean; rebuild_requested: string | null }>`
          SELECT policy = ${JSON.stringify(policy)}::jsonb AS same_policy,
                 full_rebuild_requested_at::text AS rebuild_requested
          FROM attendance_rollup_state WHERE tenant_id = ${tenant.id}::uuid`.execute(trx);
        const rebuildRequested = state[0]?.rebuild_requested ?? null;
        const reason = options.full
          ? 'requested'
          : !state[0]
            ? 'first run for this tenant'
            : !state[0].same_policy
              ? 'the attendance policy changed'
              : rebuildRequested
                ? 'the academic year terms changed'
                : undefined;
        const { rows: claimRows } = await sql<{ n: number }>`
          SELECT count(*) AS n FROM attendance_rollup_claims WHERE tenant_id = ${tenant.id}::uuid`.execute(
          trx,
        );
        const claimed = Number(claimRows[0]?.n ?? 0);
        let months = 0;
        if (reason) {
          months = await fullRebuild(trx, tenant.id, policy, options.today, counts, stepMs);
        } else if (claimed > 0) {
          months = await incremental(trx, tenant.id, policy, options.today, counts, stepMs);
        }
        await step(stepMs, 'unclaim', () =>
          sql`DELETE FROM attendance_rollup_claims WHERE tenant_id = ${tenant.id}::uuid`.execute(trx),
        );
        const changed = Object.values(counts).some((n) => n > 0);
        await sql`
          INSERT INTO attendance_rollup_state AS s (tenant_id, policy, last_run_at, last_full_at, last_changed_at)
          VALUES (${tenant.id}::uuid, ${JSON.stringify(policy)}::jsonb, now(),
                  CASE WHEN ${reason !== undefined} THEN now() END, CASE WHEN ${changed} THEN now() END)
          ON CONFLICT (tenant_id) DO UPDATE
            SET policy = EXCLUDED.policy, last_run_at = EXCLUDED.last_run_at,
                last_full_at = coalesce(EXCLUDED.last_full_at, s.last_full_at),
                last_changed_at = coalesce(EXCLUDED.last_changed_at, s.last_changed_at),
                -- Cleared by this rebuild only if no term changed after it read the request
                -- (sql/0080); a later request stays for the next run.
                full_rebuild_requested_at = CASE
                  WHEN ${reason !== undefined} AND s.full_rebuild_requested_at::text IS NOT DISTINCT FROM ${rebuildRequested}
                  THEN NULL ELSE s.full_rebuild_requested_at END`.execute(trx);
        return {
          tenantId: tenant.id,
          mode: reason ? ('full' as const) : ('incremental' as const),
          ...(reason ? { reason } : {}),
          claimed,
          months,
          counts,
          changed,
          ms: Date.now() - started,
          stepMs,
        };
      });
    } finally {
      // If the connection is gone, so is its session lock: keep the error that got us here.
      await sql`SELECT pg_advisory_unlock(${LOCK_CLASS}, hashtext(${tenant.id}))`
        .execute(conn)
        .catch(() => undefined);
    }
  });
}

function add(counts: RollupCounts, kind: 'monthly' | 'daily' | 'chronic', result: Written): void {
  counts[`${kind}Written`] += result.written;
  counts[`${kind}Deleted`] += result.deleted;
}

type Trx = Parameters<typeof refreshMonthly>[0];

async function fullRebuild(
  trx: Trx,
  tenantId: string,
  policy: AttendancePolicy,
  today: string,
  counts: RollupCounts,
  steps: Record<string, number>,
): Promise<number> {
  // Open-ended range: one pass over the tenant's attendance, and every old row outside it is
  // deleted as stale.
  const from = '0001-01-01';
  const to = '9999-12-31';
  await step(steps, 'aggregate', () => stageFull(trx, tenantId, policy));
  add(counts, 'monthly', await step(steps, 'monthly', () => applyMonthly(trx, tenantId, from, to, null)));
  // The next incremental run joins the monthly rows; plan it on fresh statistics (a first
  // rebuild fills the table from empty, long before autovacuum would analyse it). A rebuild that
  // changed nothing (steady state) leaves the statistics as they were.
  if (counts.monthlyWritten + counts.monthlyDeleted > 0) {
    await step(steps, 'analyze', () => sql`ANALYZE attendance_monthly`.execute(trx));
  }
  add(counts, 'daily', await step(steps, 'daily', () => applyDaily(trx, tenantId, from, to, null)));
  // Enrollment and chronic figures from the staged monthly rows just written (the same rows).
  const monthly = monthlyRows(tenantId, true);
  counts.enrollmentsUpdated += await step(steps, 'enrollments', () =>
    refreshEnrollments(trx, tenantId, policy, null, monthly),
  );
  add(
    counts,
    'chronic',
    await step(steps, 'chronic', () => refreshChronic(trx, tenantId, policy, null, today, monthly)),
  );
  const { rows } = await sql<{ n: number }>`
    SELECT count(DISTINCT month) AS n FROM attendance_monthly WHERE tenant_id = ${tenantId}::uuid`.execute(
    trx,
  );
  return Number(rows[0]?.n ?? 0);
}

async function incremental(
  trx: Trx,
  tenantId: string,
  policy: AttendancePolicy,
  today: string,
  counts: RollupCounts,
  steps: Record<string, number>,
): Promise<number> {
  // One set-based pass per changed month (a handful: today's, plus any late corrections). In each,
  // a student whose changed days all come after the month's last counted day gets those days
  // added (the nightly common case); any other student's month is recomputed.
  const { rows: months } = await step(steps, 'plan', () =>
    sql<{
      month: string;
      last: string;
      students: string[];
      append: string[] | null;
      recompute: string[] | null;
      append_from: string | null;
      append_to: string | null;
      days: string[];
    }>`
    WITH per_student AS (
      SELECT date_trunc('month', c.attendance_date)::date AS month, c.student_id,
             bool_and(m.last_day IS NULL OR c.attendance_date > m.last_day) AS append_only,
             min(c.attendance_date) AS first_changed, max(c.attendance_date) AS last_changed
      FROM attendance_rollup_claims c
      LEFT JOIN attendance_monthly m ON m.tenant_id = c.tenant_id AND m.student_id = c.student_id
        AND m.month = date_trunc('month', c.attendance_date)::date
      WHERE c.tenant_id = ${tenantId}::uuid
      GROUP BY 1, 2
    )
    SELECT p.month::text AS month, (p.month + interval '1 month - 1 day')::date::text AS last,
           array_agg(p.student_id) AS students,
           array_agg(p.student_id) FILTER (WHERE p.append_only) AS append,
           array_agg(p.student_id) FILTER (WHERE NOT p.append_only) AS recompute,
           min(p.first_changed) FILTER (WHERE p.append_only)::text AS append_from,
           max(p.last_changed) FILTER (WHERE p.append_only)::text AS append_to,
           (SELECT array_agg(DISTINCT c.attendance_date::text) FROM attendance_rollup_claims c
            WHERE c.tenant_id = ${tenantId}::uuid AND date_trunc('month', c.attendance_date)::date = p.month) AS days
    FROM per_student p GROUP BY p.month ORDER BY 1`.execute(trx),
  );
  for (const month of months) {
    if (month.recompute) {
      add(
        counts,
        'monthly',
        await refreshMonthly(trx, tenantId, policy, month.month, month.last, month.recompute),
      );
    }
    if (month.append) {
      add(
        counts,
        'monthly',
        await step(steps, 'append', () =>
          appendMonthly(trx, tenantId, policy, month.append_from!, month.append_to!, month.append!),
        ),
      );
    }
    const days = [...month.days].sort();
    add(
      counts,
      'daily',
      await step(steps, 'daily', () => refreshDaily(trx, tenantId, policy, days[0]!, days.at(-1)!, days)),
    );
  }
  const students = [...new Set(months.flatMap((m) => m.students))];
  // Enrollment summaries: a student whose changed days were all appended (the nightly case) gets
  // those days added, unless an enrollment window of theirs changed since the last run (a claim on
  // one of their enrollment dates: a new, moved or re-dated enrollment); everyone else is
  // recomputed from the monthly rows.
  const recomputed = new Set(months.flatMap((m) => m.recompute ?? []));
  const appendOnly = students.filter((id) => !recomputed.has(id));
  const { rows: windowChanged } = appendOnly.length
    ? await sql<{ student_id: string }>`
        SELECT DISTINCT e.student_id FROM enrollments e
        JOIN attendance_rollup_claims c ON c.tenant_id = e.tenant_id AND c.student_id = e.student_id
         AND c.attendance_date = e.enrollment_date
        WHERE e.tenant_id = ${tenantId}::uuid AND e.student_id = ANY (${appendOnly}::uuid[])`.execute(trx)
    : { rows: [] };
  const changedWindows = new Set(windowChanged.map((r) => r.student_id));
  const addTo = appendOnly.filter((id) => !changedWindows.has(id));
  const recompute = students.filter((id) => recomputed.has(id) || changedWindows.has(id));
  counts.enrollmentsUpdated += await step(steps, 'enrollments', async () => {
    let updated = 0;
    if (addTo.length > 0) updated += await addEnrollmentDays(trx, tenantId, addTo);
    if (recompute.length > 0) updated += await refreshEnrollments(trx, tenantId, policy, recompute);
    return updated;
  });
  // Chronic rows likewise: appended days are added to the year's row (students whose year has
  // no row yet come back as missing); everyone else is recomputed from the monthly rows.
  await step(steps, 'chronic', async () => {
    const appendedTo = appendOnly.length
      ? await addChronicDays(trx, tenantId, policy, appendOnly, today)
      : null;
    if (appendedTo) add(counts, 'chronic', appendedTo);
    const missing = new Set(appendedTo?.missing ?? []);
    const rest = students.filter((id) => recomputed.has(id) || missing.has(id));
    if (rest.length > 0) add(counts, 'chronic', await refreshChronic(trx, tenantId, policy, rest, today));
  });
  return months.length;
}
