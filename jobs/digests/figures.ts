// What a digest says: per guardian, each child with school days in the period, their day counts
// under the tenant's attendance policy (attendance_days(), the rule rollups and exports share),
// absence dates with the recorded reason, the term-to-date rate, its change since the previous
// period, and where the child stands against the chronic-absence threshold.

import { sql } from 'kysely';
import { addDays } from '../../core/dates.js';
import type { TenantTransaction } from '../../core/tenant-scope.js';
import { termToDateRates } from '../attendance/figures.js';
import { type AttendancePolicy, attendanceDays } from '../attendance/policy.js';

export interface AbsenceDay {
  date: string;
  status: 'absent' | 'excused';
  reason: string | null;
}

export type ChronicStanding = 'at' | 'near' | null;

export interface ChildFigures {
  studentId: string;
  firstName: string;
  lastName: string;
  /** Days with a status in the period; present + late + absent + excused. */
  schoolDays: number;
  present: number;
  /** Attended but late or tardy. */
  late: number;
  absent: number;
  excused: number;
  absences: AbsenceDay[];
  termStart: string;
  daysInMembership: number;
  /** Term-to-date attendance rate at the end of the period (percent), null before any day. */
  termRate: number | null;
  /** Percentage points since the end of the previous period; null when that was another term. */
  rateChange: number | null;
  /** Share of membership days missed, term to date (percent). */
  absencePercent: number | null;
  chronic: ChronicStanding;
}

export interface DigestRules {
  policy: AttendancePolicy;
  nearThresholdPoints: number;
}

interface DayRow {
  student_id: string;
  first_name: string;
  preferred_name: string | null;
  last_name: string;
  attendance_date: string;
  day_status: 'present' | 'tardy' | 'absent' | 'excused';
  in_membership: boolean;
  reason: string | null;
}

/** "At" from the threshold up; "near" within nearThresholdPoints below it; only once enough days count. */
export function chronicStanding(
  absencePercent: number | null,
  daysInMembership: number,
  rules: DigestRules,
): ChronicStanding {
  if (absencePercent === null || daysInMembership < rules.policy.chronicMinimumDays) return null;
  const threshold = rules.policy.chronicAbsencePercent;
  if (absencePercent >= threshold) return 'at';
  if (absencePercent >= threshold - rules.nearThresholdPoints) return 'near';
  return null;
}

/**
 * One guardian's children with school days in [from, to], ordered by first name. Empty: send
 * nothing. For send jobs planned without figures in their payload (queued before planning carried
 * them); planning uses childFigures for the whole tenant at once.
 */
export async function guardianChildFigures(
  trx: TenantTransaction,
  tenantId: string,
  guardianId: string,
  period: { from: string; to: string },
  rules: DigestRules,
): Promise<ChildFigures[]> {
  const { rows: links } = await sql<{ student_id: string }>`
    SELECT sg.student_id FROM student_guardians sg
    JOIN students s ON s.tenant_id = sg.tenant_id AND s.id = sg.student_id AND s.deleted_at IS NULL
    WHERE sg.tenant_id = ${tenantId} AND sg.guardian_id = ${guardianId}`.execute(trx);
  const studentIds = links.map((link) => link.student_id);
  if (studentIds.length === 0) return [];
  return childrenOf(await childFigures(trx, tenantId, period, rules, studentIds), studentIds);
}

/** The figures of these students that had school days, in the order the email lists them. */
export function childrenOf(
  figures: Map<string, ChildFigures>,
  studentIds: readonly string[],
): ChildFigures[] {
  return studentIds
    .flatMap((id) => figures.get(id) ?? [])
    .sort((a, b) => a.firstName.localeCompare(b.firstName) || a.studentId.localeCompare(b.studentId));
}

/**
 * Every student with school days in [from, to] (all of the tenant's, or just `studentIds`), with
 * their figures: one scan of the period's attendance and two term-to-date reads from the rollups
 * (at the period's end and the day before it started), whatever the number of students.
 */
export async function childFigures(
  trx: TenantTransaction,
  tenantId: string,
  period: { from: string; to: string },
  rules: DigestRules,
  studentIds?: readonly string[],
): Promise<Map<string, ChildFigures>> {
  const onlyThese = studentIds ? sql`AND a.student_id = ANY (${[...studentIds]}::uuid[])` : sql``;
  // The reason shown for a missed day is the first one recorded on a missed mark that day (the
  // whole-day mark, period 0, sorts first). A join bounded by the period, not a correlated
  // subquery: the planner then prunes attendance to the period's partitions.
  const { rows } = await sql<DayRow>`
    SELECT d.student_id, s.first_name, s.preferred_name, s.last_name, d.attendance_date, d.day_status,
           d.in_membership, CASE WHEN d.day_status IN ('absent', 'excused') THEN r.reason END AS reason
    FROM ${attendanceDays(tenantId, period.from, period.to, rules.policy, studentIds)} d
    JOIN students s ON s.tenant_id = ${tenantId} AND s.id = d.student_id AND s.deleted_at IS NULL
    LEFT JOIN (
      SELECT DISTINCT ON (a.student_id, a.attendance_date) a.student_id, a.attendance_date, a.reason
      FROM attendance a
      WHERE a.tenant_id = ${tenantId} ${onlyThese}
        AND a.attendance_date BETWEEN ${period.from}::date AND ${period.to}::date
        AND a.status IN ('absent', 'excused') AND nullif(btrim(a.reason), '') IS NOT NULL
      ORDER BY a.student_id, a.attendance_date, a.period
    ) r ON r.student_id = d.student_id AND r.attendance_date = d.attendance_date
    ORDER BY d.student_id, d.attendance_date`.execute(trx);

  const byStudent = new Map<string, ChildFigures>();
  // The period's own membership and attended days: the rate before the period is the rate at its
  // end without them, so the term is read once, not twice.
  const inPeriod = new Map<string, { membership: number; attended: number }>();
  for (const row of rows) {
    let child = byStudent.get(row.student_id);
    if (!child) {
      child = {
        studentId: row.student_id,
        firstName: row.preferred_name?.trim() || row.first_name,
        lastName: row.last_name,
        schoolDays: 0,
        present: 0,
        late: 0,
        absent: 0,
        excused: 0,
        absences: [],
        termStart: period.to,
        daysInMembership: 0,
        termRate: null,
        rateChange: null,
        absencePercent: null,
        chronic: null,
      };
      byStudent.set(row.student_id, child);
    }
    const counted = inPeriod.get(row.student_id) ?? { membership: 0, attended: 0 };
    inPeriod.set(row.student_id, counted);
    if (row.in_membership) counted.membership++;
    if (row.day_status === 'present' || row.day_status === 'tardy') counted.attended++;
    child.schoolDays++;
    if (row.day_status === 'present') child.present++;
    else if (row.day_status === 'tardy') child.late++;
    else {
      if (row.day_status === 'absent') child.absent++;
      else child.excused++;
      child.absences.push({ date: row.attendance_date, status: row.day_status, reason: row.reason });
    }
  }
  if (byStudent.size === 0) return byStudent;

  const ids = [...byStudent.keys()];
  // Term to date from the rollups (whole months) plus what they have not caught up with, read live.
  const now = await termToDateRates(trx, tenantId, ids, period.to);
  // The term the day before the period belongs to (one student is enough to name it).
  const dayBefore = await termToDateRates(trx, tenantId, ids.slice(0, 1), addDays(period.from, -1));
  const termBefore = dayBefore.get(ids[0]!)!.termStart;
  for (const child of byStudent.values()) {
    const current = now.get(child.studentId)!;
    child.termStart = current.termStart;
    child.daysInMembership = current.daysInMembership;
    child.termRate = current.rate === null ? null : Number(current.rate);
    // A change is only meaningful within one term; the first digest of a term shows none.
    const counted = inPeriod.get(child.studentId)!;
    const membershipBefore = current.daysInMembership - counted.membership;
    if (current.rate !== null && termBefore === current.termStart && membershipBefore > 0) {
      const rateBefore = percent(current.daysAttended - counted.attended, membershipBefore);
      child.rateChange = Math.round((Number(current.rate) - rateBefore) * 100) / 100;
    }
    if (current.daysInMembership > 0) {
      const missed = current.daysInMembership - current.daysAttended;
      child.absencePercent = Math.round((missed / current.daysInMembership) * 10_000) / 100;
    }
    child.chronic = chronicStanding(child.absencePercent, child.daysInMembership, rules);
  }
  return byStudent;
}

/** a / b as a percentage rounded half up to 2 decimals, as SQL's round(numeric, 2) gives it. */
function percent(a: number, b: number): number {
  return Math.round((a * 10_000) / b) / 100;
}

export interface PlannedGuardian {
  guardianId: string;
  email: string | null;
  optedOut: boolean;
  /** Their current (not deleted) children; childrenOf picks those with figures for the period. */
  studentIds: string[];
}

/**
 * Every guardian of the tenant linked to a current student, with those students: one pass over
 * the links. Who had school days comes from childFigures, so the period is scanned once.
 */
export async function planRecipients(trx: TenantTransaction, tenantId: string): Promise<PlannedGuardian[]> {
  const { rows } = await sql<{
    guardian_id: string;
    email: string | null;
    digest_opt_out: boolean;
    student_ids: string[];
  }>`
    SELECT g.id AS guardian_id, g.email, g.digest_opt_out, array_agg(sg.student_id) AS student_ids
    FROM guardians g
    JOIN student_guardians sg ON sg.tenant_id = g.tenant_id AND sg.guardian_id = g.id
    JOIN students s ON s.tenant_id = sg.tenant_id AND s.id = sg.student_id AND s.deleted_at IS NULL
    WHERE g.tenant_id = ${tenantId}
    GROUP BY g.id
    ORDER BY g.id`.execute(trx);
  return rows.map((row) => ({
    guardianId: row.guardian_id,
    email: row.email,
    optedOut: row.digest_opt_out,
    studentIds: row.student_ids,
  }));
}
