// A per-student attendance report card for a term: one PDF page per student with the school's
// branding, the term's figures under the tenant policy and a weekly attendance chart.
// The term defaults to the one containing the school's today (the shortest such, so a semester
// wins over the year), else the latest that has started; days after today are not counted yet.
import { sql } from 'kysely';
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import type { TenantTransaction } from '../core/tenant-scope.js';
import { checkClass, uuid } from './filters.js';
import { studentAttendanceQuery } from './student-attendance.js';
import { defineTemplate } from './types.js';

interface ReportCardFilters extends Record<string, unknown> {
  termId?: string | undefined;
  classId?: string | undefined;
  /** Resolved by prepare(), never taken from a request. */
  term?: { name: string; from: string; to: string };
}

interface TermRow {
  id: string;
  name: string;
  start_date: string;
  end_date: string;
}

async function findTerm(trx: TenantTransaction, termId: string | undefined, today: string): Promise<TermRow> {
  if (termId) {
    const { rows } = await sql<TermRow>`
      SELECT id, name, start_date, end_date FROM academic_terms WHERE id = ${termId}`.execute(trx);
    if (!rows[0]) throw new InputError(`no academic term ${termId} in this school`, 'filters.termId');
    return rows[0];
  }
  const { rows } = await sql<TermRow>`
    SELECT id, name, start_date, end_date FROM academic_terms
    WHERE start_date <= ${today}::date
    ORDER BY (end_date >= ${today}::date) DESC, CASE WHEN end_date >= ${today}::date THEN end_date - start_date END,
             start_date DESC
    LIMIT 1`.execute(trx);
  if (!rows[0])
    throw new InputError('this school has no academic term that has started; pass one', 'filters.termId');
  return rows[0];
}

export const reportCard = defineTemplate<ReportCardFilters>({
  id: 'report-card',
  title: 'Attendance report card',
  description: 'One PDF page per student for a term: figures and a weekly attendance chart (pdf only)',
  formats: ['pdf'],
  filters: z.strictObject({ termId: uuid.optional(), classId: uuid.optional() }),
  filterHelp: {
    termId: 'academic term (UUID); default the current term',
    classId: 'students enrolled in one class (UUID)',
  },
  async prepare(trx, f, env) {
    await checkClass(trx, f.classId);
    const term = await findTerm(trx, f.termId, env.today);
    const to = term.end_date < env.today ? term.end_date : env.today;
    return { ...f, termId: term.id, term: { name: term.name, from: term.start_date, to } };
  },
  columns: [
    { key: 'student_number', header: 'Student no.', type: 'text' },
    { key: 'display_name', header: 'Student', type: 'text' },
    { key: 'grade_level', header: 'Grade', type: 'text' },
    { key: 'membership_days', header: 'Days', type: 'number' },
    { key: 'present_days', header: 'Present', type: 'number' },
    { key: 'tardy_days', header: 'Tardy', type: 'number' },
    { key: 'absent_days', header: 'Absent', type: 'number' },
    { key: 'excused_days', header: 'Excused', type: 'number' },
    { key: 'attendance_rate', header: 'Attendance', type: 'percent' },
    { key: 'chronic', header: 'Chronic absentee', type: 'text' },
  ],
  query(f, env) {
    if (!f.term) throw new InputError('was not resolved (prepare() must run first)', 'filters.termId');
    return studentAttendanceQuery(
      env,
      { from: f.term.from, to: f.term.to, classId: f.classId },
      { weekly: true },
    );
  },
  pdfLayout: 'report-card',
});
