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
// has covered a month boundary.
import { sql } from 'kysely';
import { InputError } from '../../core/errors.js';
import type { TenantTransaction } from '../../core/tenant-scope.js';
import { assertUuid } from '../../core/tenant-scope.js';
import { attendanceDays, attendancePolicyFrom } from './policy.js';

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

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export async function termToDateRates(
  trx: TenantTransaction,
  tenantId: string,
  studentIds: readonly string[],
  asOf: string,
): Promise<Map<string, TermToDateRate>> {
  assertUuid(tenantId);
  if (!isCalendarDate(asOf)) {
    throw new InputError(`must be a date as YYYY-MM-DD, got ${JSON.stringify(asOf).slice(0, 40)}`, 'asOf');
  }
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
  const parts = [
    sql`SELECT student_id, days_in_membership AS membership, days_attended AS attended
        FROM attendance_monthly
        WHERE tenant_id = ${tenantId}::uuid AND student_id = ANY (${ids}::uuid[])
          AND month >= ${fullFrom}::date AND month < ${fullTo}::date`,
    ...live.map(
      ([from, to]) => sql`
        SELECT d.student_id, (d.in_membership)::int AS membership,
               (d.day_status IN ('present', 'tardy'))::int AS attended
        FROM ${attendanceDays(tenantId, from, to, policy, ids)} d`,
    ),
  ];
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

function isCalendarDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  // JavaScript rolls 30 February over into March; a real date survives the round trip.
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
}

function previousDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}
