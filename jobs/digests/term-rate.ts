// Term-to-date attendance rates for a handful of students, straight from attendance_days().
//
// Issue 4 builds jobs/attendance/figures.ts with the same termToDateRates signature over its
// monthly rollups; this version exists so digests work without them and can be swapped at merge.
// It is correct for any tenant and cheap for one guardian's children (a term of rows per child).
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

export async function termToDateRates(
  trx: TenantTransaction,
  tenantId: string,
  studentIds: readonly string[],
  asOf: string,
): Promise<Map<string, TermToDateRate>> {
  const [rates] = await termToDateRatesAt(trx, tenantId, studentIds, [asOf]);
  return rates!;
}

/**
 * The same for several as-of dates in three statements (term starts, policy, one aggregate over
 * the widest range), so a digest gets "now" and "at the end of the previous period" together.
 */
export async function termToDateRatesAt(
  trx: TenantTransaction,
  tenantId: string,
  studentIds: readonly string[],
  asOfs: readonly string[],
): Promise<Map<string, TermToDateRate>[]> {
  if (studentIds.length === 0) return asOfs.map(() => new Map());
  const { rows: terms } = await sql<{ as_of: string; start_date: string | null }>`
    SELECT d.as_of::text AS as_of, (
      SELECT t.start_date FROM academic_terms t
      WHERE t.tenant_id = ${tenantId} AND t.start_date <= d.as_of AND t.end_date >= d.as_of
      ORDER BY (t.kind = 'year'), t.start_date DESC
      LIMIT 1) AS start_date
    FROM unnest(${[...asOfs]}::date[]) AS d(as_of)`.execute(trx);
  const starts = asOfs.map(
    (asOf) => terms.find((t) => t.as_of === asOf)?.start_date ?? academicYearStart(asOf),
  );
  const { rows: tenants } = await sql<{ settings: Record<string, unknown> }>`
    SELECT settings FROM tenants WHERE id = ${tenantId}`.execute(trx);
  const policy = attendancePolicyFrom(tenants[0]?.settings ?? {});

  const from = starts.reduce((a, b) => (a < b ? a : b));
  const to = asOfs.reduce((a, b) => (a > b ? a : b));
  // One count pair per as-of date, each over its own [term start, as-of] window.
  const windows = asOfs.map(
    (asOf, i) => sql`
      count(*) FILTER (WHERE d.in_membership AND d.attendance_date BETWEEN ${starts[i]}::date AND ${asOf}::date) AS ${sql.ref(`m${i}`)},
      count(*) FILTER (WHERE d.day_status IN ('present', 'tardy') AND d.attendance_date BETWEEN ${starts[i]}::date AND ${asOf}::date) AS ${sql.ref(`a${i}`)}`,
  );
  const { rows } = await sql<Record<string, string | number>>`
    SELECT d.student_id, ${sql.join(windows)}
    FROM ${attendanceDays(tenantId, from, to, policy, studentIds)} d
    GROUP BY d.student_id`.execute(trx);

  return asOfs.map((_asOf, i) => {
    const rates = new Map<string, TermToDateRate>();
    for (const id of studentIds)
      rates.set(id, { termStart: starts[i]!, daysInMembership: 0, daysAttended: 0, rate: null });
    for (const row of rows) {
      const daysInMembership = Number(row[`m${i}`]);
      const daysAttended = Number(row[`a${i}`]);
      rates.set(String(row.student_id), {
        termStart: starts[i]!,
        daysInMembership,
        daysAttended,
        rate: daysInMembership > 0 ? Math.round((daysAttended / daysInMembership) * 10_000) / 100 : null,
      });
    }
    return rates;
  });
}
