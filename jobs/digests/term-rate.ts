// Term-to-date attendance rates for a handful of students, straight from attendance_days().
//
// Issue 4 builds jobs/attendance/figures.ts with the same signature over its monthly rollups;
// this version exists so digests work without them and can be swapped at merge. It is correct
// for any tenant and cheap for one guardian's children (a term of rows per child).
//
// The term is the academic_terms row containing `asOf`, preferring a term, quarter or semester
// to the whole year; without one, the academic year starting 1 August.
import { sql } from 'kysely';
import type { TenantTransaction } from '../../core/tenant-scope.js';
import { attendanceDays, attendancePolicyFrom } from '../attendance/policy.js';

export interface TermToDateRate {
  termStart: string;
  daysInMembership: number;
  daysAttended: number;
  /** Attended days / days in membership, as a percentage rounded to 2 decimals; null with no days. */
  rate: number | null;
}

export function academicYearStart(asOf: string): string {
  const year = Number(asOf.slice(0, 4));
  const month = Number(asOf.slice(5, 7));
  return `${month >= 8 ? year : year - 1}-08-01`;
}

export async function termStartFor(trx: TenantTransaction, tenantId: string, asOf: string): Promise<string> {
  const { rows } = await sql<{ start_date: string }>`
    SELECT start_date FROM academic_terms
    WHERE tenant_id = ${tenantId} AND start_date <= ${asOf}::date AND end_date >= ${asOf}::date
    ORDER BY (kind = 'year'), start_date DESC
    LIMIT 1`.execute(trx);
  return rows[0]?.start_date ?? academicYearStart(asOf);
}

export async function termToDateRates(
  trx: TenantTransaction,
  tenantId: string,
  studentIds: readonly string[],
  asOf: string,
): Promise<Map<string, TermToDateRate>> {
  const rates = new Map<string, TermToDateRate>();
  if (studentIds.length === 0) return rates;
  const termStart = await termStartFor(trx, tenantId, asOf);
  const { rows: tenants } = await sql<{ settings: Record<string, unknown> }>`
    SELECT settings FROM tenants WHERE id = ${tenantId}`.execute(trx);
  const policy = attendancePolicyFrom(tenants[0]?.settings ?? {});
  const { rows } = await sql<{ student_id: string; in_membership: number; attended: number }>`
    SELECT d.student_id,
           count(*) FILTER (WHERE d.in_membership) AS in_membership,
           count(*) FILTER (WHERE d.day_status IN ('present', 'tardy')) AS attended
    FROM ${attendanceDays(tenantId, termStart, asOf, policy, studentIds)} d
    GROUP BY d.student_id`.execute(trx);
  for (const id of studentIds) rates.set(id, { termStart, daysInMembership: 0, daysAttended: 0, rate: null });
  for (const row of rows) {
    const daysInMembership = Number(row.in_membership);
    const daysAttended = Number(row.attended);
    rates.set(row.student_id, {
      termStart,
      daysInMembership,
      daysAttended,
      rate: daysInMembership > 0 ? Math.round((daysAttended / daysInMembership) * 10_000) / 100 : null,
    });
  }
  return rates;
}
