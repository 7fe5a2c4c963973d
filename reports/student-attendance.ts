// Per-student attendance over a range under the tenant's policy, shared by attendance-summary and
// report-card so both agree with the rollup and digests: days come from attendance_days() (the one
// day rule), and "chronic" uses the policy's chronicAbsencePercent and chronicMinimumDays.
import { sql } from 'kysely';
import { attendanceDays } from '../jobs/attendance/policy.js';
import type { TemplateEnv } from './types.js';

export function studentAttendanceQuery(
  env: TemplateEnv,
  range: { from: string; to: string; classId?: string | undefined },
  options: { weekly?: boolean } = {},
) {
  const { tenant, policy } = env;
  const classId = range.classId ?? null;
  // Weekly series for the report card chart, aggregated once for all students (a per-student
  // subquery over the days would rescan them for every student); attended = present or tardy.
  const weeklyCte = options.weekly
    ? sql`, weekly AS (
        SELECT w.student_id, json_agg(json_build_object('week', w.week, 'attended', w.attended,
                 'membership', w.membership) ORDER BY w.week) AS weeks
        FROM (SELECT d.student_id, date_trunc('week', d.attendance_date)::date AS week,
                     count(*) FILTER (WHERE d.day_status IN ('present', 'tardy')) AS attended,
                     count(*) FILTER (WHERE d.in_membership) AS membership
              FROM days d GROUP BY 1, 2) w
        GROUP BY w.student_id)`
    : sql``;
  const weeklyColumn = options.weekly ? sql`, coalesce(wk.weeks, '[]'::json) AS weeks` : sql``;
  const weeklyJoin = options.weekly ? sql`LEFT JOIN weekly wk ON wk.student_id = s.id` : sql``;
  return sql<Record<string, unknown>>`
    WITH days AS MATERIALIZED (
      SELECT * FROM ${attendanceDays(tenant.id, range.from, range.to, policy)} x
    ),
    totals AS (
      SELECT d.student_id,
             count(*) FILTER (WHERE d.in_membership) AS membership_days,
             count(*) FILTER (WHERE d.day_status = 'present') AS present_days,
             count(*) FILTER (WHERE d.day_status = 'tardy') AS tardy_days,
             count(*) FILTER (WHERE d.day_status = 'absent') AS absent_days,
             count(*) FILTER (WHERE d.day_status = 'excused') AS excused_days,
             count(*) FILTER (WHERE d.day_status IN ('present', 'tardy')) AS attended_days
      FROM days d GROUP BY d.student_id
    )${weeklyCte}
    SELECT s.id AS student_id, s.student_number, s.last_name || ', ' || s.first_name AS student_name,
           s.first_name || ' ' || s.last_name AS display_name, s.grade_level,
           coalesce(t.membership_days, 0) AS membership_days,
           coalesce(t.present_days, 0) AS present_days,
           coalesce(t.tardy_days, 0) AS tardy_days,
           coalesce(t.absent_days, 0) AS absent_days,
           coalesce(t.excused_days, 0) AS excused_days,
           round(t.attended_days * 100.0 / nullif(t.membership_days, 0), 2) AS attendance_rate,
           round((t.membership_days - t.attended_days) * 100.0 / nullif(t.membership_days, 0), 2) AS absence_rate,
           CASE WHEN t.membership_days >= ${policy.chronicMinimumDays}::int
                 AND (t.membership_days - t.attended_days) * 100.0 / t.membership_days
                     >= ${policy.chronicAbsencePercent}::numeric
                THEN 'Yes' ELSE 'No' END AS chronic
           ${weeklyColumn}
    FROM students s
    LEFT JOIN totals t ON t.student_id = s.id
    ${weeklyJoin}
    WHERE s.tenant_id = ${tenant.id}::uuid AND s.deleted_at IS NULL AND s.status = 'active'
      AND (${classId}::uuid IS NULL OR EXISTS (
            SELECT 1 FROM enrollments e
            WHERE e.tenant_id = s.tenant_id AND e.student_id = s.id AND e.class_id = ${classId}::uuid))
    ORDER BY s.last_name, s.first_name, s.id`;
}
