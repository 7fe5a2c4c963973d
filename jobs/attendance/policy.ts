// A tenant's attendance policy: how raw marks become attended days, and when a student is
// chronically absent. Stored in tenants.settings.attendance; every key is optional and falls back
// to the documented default. The rollup, digests and exports read it through here so they agree.
import { sql } from 'kysely';
import { z } from 'zod';
import { InputError } from '../../core/errors.js';

const status = z.enum(['present', 'absent', 'late', 'tardy', 'excused']);

export const attendancePolicySchema = z.object({
  /** Statuses that count as attending. */
  attendedStatuses: z.array(status).min(1).default(['present', 'late', 'tardy']),
  /** Excused absences count against the rate unless a tenant turns this off. */
  excusedCountsAsAbsence: z.boolean().default(true),
  /** How period marks make a day (a whole-day mark, period 0, always wins). */
  dayRule: z.enum(['half-of-periods', 'absent-any-period']).default('half-of-periods'),
  /** Chronic absenteeism: absent on at least this share of days in membership... */
  chronicAbsencePercent: z.number().gt(0).max(100).default(10),
  /** ...once the student has at least this many days in membership. */
  chronicMinimumDays: z.number().int().min(1).default(10),
});

export type AttendancePolicy = z.infer<typeof attendancePolicySchema>;

export const defaultAttendancePolicy: AttendancePolicy = attendancePolicySchema.parse({});

/** Read the policy out of tenant settings; a bad value is an InputError naming the setting. */
export function attendancePolicyFrom(settings: Record<string, unknown>): AttendancePolicy {
  const parsed = attendancePolicySchema.safeParse(settings.attendance ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = ['settings', 'attendance', ...issue.path].join('.');
  throw new InputError(`${issue.message}; fix the tenant's ${field}`, field);
}

/**
 * The attendance_days(...) call for a policy and date range, to use in FROM:
 *   sql`SELECT ... FROM ${attendanceDays(tenantId, from, to, policy)} d`
 * Returns one row per student and school day: student_id, attendance_date, day_status
 * ('present' | 'tardy' | 'absent' | 'excused') and in_membership. Arguments are bound parameters,
 * never subqueries, so PostgreSQL inlines the function and plans it with the attendance key.
 */
export function attendanceDays(
  tenantId: string,
  from: string,
  to: string,
  policy: AttendancePolicy,
  studentIds?: readonly string[],
) {
  const students = studentIds ? sql`${[...studentIds]}::uuid[]` : sql`NULL::uuid[]`;
  return sql`attendance_days(${tenantId}::uuid, ${from}::date, ${to}::date,
    ${policy.attendedStatuses}::text[], ${policy.excusedCountsAsAbsence}, ${policy.dayRule}, ${students})`;
}
