// Attendance figures for other jobs (digests, report cards), read from the rollup tables.
//
// termToDateRates(trx, tenantId, studentIds, asOf) — the contract with the digest helper:
//   trx        a tenant transaction from withTenant(db, tenantId, trx => ...) (RLS applies);
//   tenantId   the tenant (must be the one trx is scoped to);
//   studentIds the students wanted; students with no marks still get an entry (zero days);
//   asOf       'YYYY-MM-DD', the last day counted (usually the tenant's today).
// Returns a Map from student id to { studentId, termName, termStart, termEnd, daysInMembership,
// daysAttended, rate } where rate is a string with two decimals ('93.75'), or null when the
// student has no day in membership yet. The term is the narrowest academic_terms row that
// contains asOf (a quarter before a semester before the year); with none, the August-to-July
// academic year containing asOf.
//
// The figures equal what attendance_days() gives for [termStart, asOf] under the tenant's policy:
// whole months come from attendance_monthly, and the partial first and last months are read live
// for just these students (a few days each), so the answer is exact even before tonight's rollup
// has covered a month boundary. Whole months the rollup has not caught up with (marks changed
// since its last run, or a tenant never rolled up or rolled up under another policy) are read live
// too (wholeMonths below).
import { sql } from 'kysely';
import { addDays, parseCalendarDate } from '../../core/dates.js';
import { InputError } from '../../core/errors.js';
import type { TenantTransaction } from '../../core/tenant-scope.js';
import { assertUuid } from '../../core/tenant-scope.js';
import { type AttendancePolicy, attendanceDays, attendancePolicyFrom } from './policy.js';

export interface TermToDateRate {
  studentId: string;
  termName: string;
  termStart: string;
  termEnd: string;
  daysInMembership: number;
  daysAttended: number;
  /** Attended days over days in membership, as a percentage with two decimals; null with no days. */
  rate: string | null;
}

export async function termToDateRates(
  trx: TenantTransaction,
  tenantId: string,
  studentIds: readonly string[],
  asOf: string,
): Promise<Map<string, TermToDateRate>> {
  assertUuid(tenantId);
  parseCalendarDate(asOf, 'asOf');
  for (const [index, id] of studentIds.entries()) assertUuid(id, `studentIds[${index}]`);
  const result = new Map<string, TermToDateRate>();
  if (studentIds.length === 0) return result;

  const { rows: tenants } = await sql<{ settings: Record<string, unknown> }>`
    SELECT settings FROM tenants WHERE id = ${tenantId}::uuid`.execute(trx);
  if (!tenants[0]) throw new InputError(`no tenant ${tenantId} visible in this transaction`, 'tenantId');
  const policy = attendancePolicyFrom(tenants[0].settings);

  const { rows: terms } = await sql<{ name: string; start: string; end: string }>`
    SELECT name, start_date::text AS start, end_date::text AS end FROM academic_terms
    WHERE tenant_id = ${tenantId}::uuid AND ${asOf}::date BETWEEN start_date AND end_date
    ORDER BY end_date - start_date, start_date DESC LIMIT 1`.execute(trx);
  const year = Number(asOf.slice(0, 4)) - (Number(asOf.slice(5, 7)) < 8 ? 1 : 0);
  const term = terms[0] ?? {
    name: `${year}-${String((year + 1) % 100).padStart(2, '0')}`,
    start: `${year}-08-01`,
    end: `${year + 1}-07-31`,
  };

  // Whole months inside [start, asOf] come from the rollup; the rest is read live.
  const { rows: bounds } = await sql<{ full_from: string; full_to: string }>`
    SELECT (CASE WHEN date_trunc('month', ${term.start}::date) = ${term.start}::date THEN ${term.start}::date
                 ELSE date_trunc('month', ${term.start}::date) + interval '1 month' END)::date::text AS full_from,
           (date_trunc('month', ${asOf}::date + 1))::date::text AS full_to`.execute(trx);
  const fullFrom = bounds[0]!.full_from;
  const fullTo = bounds[0]!.full_to; // exclusive
  const ids = [...studentIds];
  const live: [string, string][] = [];
  if (fullFrom >= fullTo) live.push([term.start, asOf]);
  else {
    if (term.start < fullFrom) live.push([term.start, previousDay(fullFrom)]);
    if (fullTo <= asOf) live.push([fullTo, asOf]);
  }
  const parts = live.map(
    ([from, to]) => sql`
      SELECT d.student_id, (d.in_membership)::int AS membership,
             (d.day_status IN ('present', 'tardy'))::int AS attended
      FROM ${attendanceDays(tenantId, from, to, policy, ids)} d`,
  );
  if (fullFrom < fullTo) parts.push(...(await wholeMonths(trx, tenantId, ids, policy, fullFrom, fullTo)));
  const { rows } = await sql<{
    student_id: string;
    membership: number;
    attended: number;
    rate: string | null;
  }>`
    SELECT u.student_id, sum(u.membership)::int AS membership, sum(u.attended)::int AS attended,
           round(sum(u.attended) * 100.0 / NULLIF(sum(u.membership), 0), 2)::text AS rate
    FROM (${sql.join(parts, sql` UNION ALL `)}) u
    GROUP BY u.student_id`.execute(trx);
  const byStudent = new Map(rows.map((r) => [r.student_id, r]));
  for (const studentId of ids) {
    const row = byStudent.get(studentId);
    const membership = row?.membership ?? 0;
    const attended = row?.attended ?? 0;
    result.set(studentId, {
      studentId,
      termName: term.name,
      termStart: term.start,
      termEnd: term.end,
      daysInMembership: membership,
      daysAttended: attended,
      rate: row?.rate ?? null,
    });
  }
  return result;
}

/**
 * The whole months [fullFrom, fullTo) from attendance_monthly, except what the rollup has not caught
 * up with, which is read live: a (student, month) with marks changed since the last run (dirty, or
 * claimed by a run in progress), and every month when the tenant's rollup never ran or ran under
 * another attendance policy. So a late correction to last month shows before tonight's run.
 */
async function wholeMonths(
  trx: TenantTransaction,
  tenantId: string,
  ids: string[],
  policy: AttendancePolicy,
  fullFrom: string,
  fullTo: string,
) {
  const { rows: state } = await sql<{ current: boolean }>`
    SELECT policy = ${JSON.stringify(policy)}::jsonb AS current FROM attendance_rollup_state
    WHERE tenant_id = ${tenantId}::uuid`.execute(trx);
  const lastDay = previousDay(fullTo);
  const liveDays = (students: string[]) => sql`
    SELECT d.student_id, d.attendance_date, (d.in_membership)::int AS membership,
           (d.day_status IN ('present', 'tardy'))::int AS attended
    FROM ${attendanceDays(tenantId, fullFrom, lastDay, policy, students)} d`;
  if (!state[0]?.current) return [sql`SELECT student_id, membership, attended FROM (${liveDays(ids)}) l`];

  const { rows: stale } = await sql<{ student_id: string; month: string }>`
    SELECT DISTINCT x.student_id, date_trunc('month', x.attendance_date)::date::text AS month
    FROM (SELECT student_id, attendance_date FROM attendance_rollup_dirty
          WHERE tenant_id = ${tenantId}::uuid AND student_id = ANY (${ids}::uuid[])
            AND attendance_date >= ${fullFrom}::date AND attendance_date < ${fullTo}::date
          UNION ALL
          SELECT student_id, attendance_date FROM attendance_rollup_claims
          WHERE tenant_id = ${tenantId}::uuid AND student_id = ANY (${ids}::uuid[])
            AND attendance_date >= ${fullFrom}::date AND attendance_date < ${fullTo}::date) x`.execute(trx);
  const staleStudents = stale.map((r) => r.student_id);
  const staleMonths = stale.map((r) => r.month);
  const parts = [
    sql`SELECT m.student_id, m.days_in_membership AS membership, m.days_attended AS attended
        FROM attendance_monthly m
        WHERE m.tenant_id = ${tenantId}::uuid AND m.student_id = ANY (${ids}::uuid[])
          AND m.month >= ${fullFrom}::date AND m.month < ${fullTo}::date
          AND (m.student_id, m.month) NOT IN (
            SELECT * FROM unnest(${staleStudents}::uuid[], ${staleMonths}::date[]))`,
  ];
  if (stale.length > 0) {
    parts.push(sql`
      SELECT l.student_id, l.membership, l.attended FROM (${liveDays([...new Set(staleStudents)])}) l
      WHERE (l.student_id, date_trunc('month', l.attendance_date)::date) IN (
        SELECT * FROM unnest(${staleStudents}::uuid[], ${staleMonths}::date[]))`);
  }
  return parts;
}

function previousDay(date: string): string {
  return addDays(date, -1);
}
