// Raw attendance marks for a date range (seed 003's view_attendance_report), optionally one class
// and one status. This is the big one: a year of a large school is millions of rows, which is why
// rows stream through a cursor and never sit in memory.
import { sql } from 'kysely';
import { z } from 'zod';
import { checkClass, isoDate, uuid } from './filters.js';
import { defineTemplate } from './types.js';

export const attendanceReport = defineTemplate({
  id: 'attendance-report',
  title: 'Attendance report',
  description: 'Every attendance mark in a date range (--from, --to), optionally one class and status',
  formats: ['csv', 'xlsx', 'pdf'],
  filters: z.strictObject({
    from: isoDate,
    to: isoDate,
    classId: uuid.optional(),
    status: z.enum(['present', 'absent', 'late', 'tardy', 'excused']).optional(),
  }),
  filterHelp: {
    from: 'first day, YYYY-MM-DD (required)',
    to: 'last day, YYYY-MM-DD (required)',
    classId: 'one class (UUID)',
    status: 'present | absent | late | tardy | excused',
  },
  prepare: async (trx, f) => {
    await checkClass(trx, f.classId);
    return f;
  },
  columns: [
    { key: 'attendance_date', header: 'Date', type: 'date', width: 12 },
    { key: 'period', header: 'Period', type: 'number', width: 7 },
    { key: 'class_name', header: 'Class', type: 'text', width: 22 },
    { key: 'student_number', header: 'Student no.', type: 'text', width: 12 },
    { key: 'student_name', header: 'Student', type: 'text', width: 26 },
    { key: 'status', header: 'Status', type: 'text', width: 9 },
    { key: 'reason', header: 'Reason', type: 'text', width: 24 },
  ],
  query: (f, env) => attendanceReportQuery(env.tenant.id, f),
});

/** Exported for the benchmark, which times COPY of exactly this query. */
export function attendanceReportQuery(
  tenantId: string,
  f: { from: string; to: string; classId?: string | undefined; status?: string | undefined },
) {
  return sql<Record<string, unknown>>`
    SELECT a.attendance_date, a.period, c.name AS class_name, s.student_number,
           s.last_name || ', ' || s.first_name AS student_name, a.status, a.reason
    FROM attendance a
    JOIN students s ON s.tenant_id = a.tenant_id AND s.id = a.student_id
    LEFT JOIN classes c ON c.tenant_id = a.tenant_id AND c.id = a.class_id
    WHERE a.tenant_id = ${tenantId}::uuid
      AND a.attendance_date BETWEEN ${f.from}::date AND ${f.to}::date
      AND (${f.classId ?? null}::uuid IS NULL OR a.class_id = ${f.classId ?? null}::uuid)
      AND (${f.status ?? null}::text IS NULL OR a.status = ${f.status ?? null})
    ORDER BY a.attendance_date, a.student_id, a.period`;
}
