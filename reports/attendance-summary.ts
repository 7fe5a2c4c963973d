// One line per student for a date range: days in membership, present, tardy, absent, excused,
// rates, and a chronic-absence flag under the tenant's policy (see student-attendance.ts).
import { z } from 'zod';
import { checkClass, isoDate, uuid } from './filters.js';
import { studentAttendanceQuery } from './student-attendance.js';
import { defineTemplate } from './types.js';

export const attendanceSummary = defineTemplate({
  id: 'attendance-summary',
  title: 'Attendance summary',
  description: 'Per student over --from..--to: days, rates and chronic absentees flagged (tenant policy)',
  formats: ['csv', 'xlsx', 'pdf'],
  filters: z.strictObject({ from: isoDate, to: isoDate, classId: uuid.optional() }),
  filterHelp: {
    from: 'first day, YYYY-MM-DD (required)',
    to: 'last day, YYYY-MM-DD (required)',
    classId: 'students enrolled in one class (UUID)',
  },
  prepare: async (trx, f) => {
    await checkClass(trx, f.classId);
    return f;
  },
  columns: [
    { key: 'student_number', header: 'Student no.', type: 'text', width: 12 },
    { key: 'student_name', header: 'Student', type: 'text', width: 26 },
    { key: 'grade_level', header: 'Grade', type: 'text', width: 7 },
    { key: 'membership_days', header: 'Days', type: 'number', width: 7 },
    { key: 'present_days', header: 'Present', type: 'number', width: 8 },
    { key: 'tardy_days', header: 'Tardy', type: 'number', width: 7 },
    { key: 'absent_days', header: 'Absent', type: 'number', width: 7 },
    { key: 'excused_days', header: 'Excused', type: 'number', width: 8 },
    { key: 'attendance_rate', header: 'Attendance', type: 'percent', width: 11 },
    { key: 'absence_rate', header: 'Absence', type: 'percent', width: 9 },
    { key: 'chronic', header: 'Chronic absentee', type: 'text', width: 10 },
  ],
  query: (f, env) => studentAttendanceQuery(env, f),
});
