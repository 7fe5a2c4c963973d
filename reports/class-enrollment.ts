// Who is enrolled in which class (seed 003's view_class_enrollment), optionally one class.
import { sql } from 'kysely';
import { z } from 'zod';
import { checkClass, uuid } from './filters.js';
import { defineTemplate } from './types.js';

export const classEnrollment = defineTemplate({
  id: 'class-enrollment',
  title: 'Class enrollment',
  description: 'Students enrolled per class with status, attendance rate and final grade',
  formats: ['csv', 'xlsx', 'pdf'],
  filters: z.strictObject({
    classId: uuid.optional(),
    status: z.enum(['active', 'dropped', 'completed', 'withdrawn']).optional(),
  }),
  filterHelp: {
    classId: 'one class (UUID); default all classes',
    status: 'active | dropped | completed | withdrawn',
  },
  prepare: async (trx, f) => {
    await checkClass(trx, f.classId);
    return f;
  },
  columns: [
    { key: 'class_code', header: 'Class code', type: 'text', width: 12 },
    { key: 'class_name', header: 'Class', type: 'text', width: 24 },
    { key: 'grade_level', header: 'Grade', type: 'text', width: 8 },
    { key: 'student_number', header: 'Student no.', type: 'text', width: 12 },
    { key: 'student_name', header: 'Student', type: 'text', width: 26 },
    { key: 'enrollment_date', header: 'Enrolled', type: 'date', width: 12 },
    { key: 'status', header: 'Status', type: 'text', width: 10 },
    { key: 'attendance_rate', header: 'Attendance', type: 'percent', width: 11 },
    { key: 'final_grade', header: 'Final grade', type: 'text', width: 10 },
  ],
  query: (f, env) => sql`
    SELECT c.class_code, c.name AS class_name, c.grade_level, s.student_number,
           s.last_name || ', ' || s.first_name AS student_name, e.enrollment_date, e.status,
           e.attendance_rate, e.final_grade
    FROM enrollments e
    JOIN classes c ON c.tenant_id = e.tenant_id AND c.id = e.class_id
    JOIN students s ON s.tenant_id = e.tenant_id AND s.id = e.student_id AND s.deleted_at IS NULL
    WHERE e.tenant_id = ${env.tenant.id}
      AND (${f.classId ?? null}::uuid IS NULL OR e.class_id = ${f.classId ?? null}::uuid)
      AND (${f.status ?? null}::text IS NULL OR e.status = ${f.status ?? null})
    ORDER BY c.class_code, c.academic_year, s.last_name, s.first_name, s.id`,
});
