// Policy variants on hand-written marks: which statuses count, excused days, the period-to-day
// rule, days without marks, and enrollment windows that start mid-month.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.js';
import { attendancePolicyFrom } from '../../jobs/attendance/policy.js';
import { attendanceRollup } from '../../jobs/attendance-rollup.js';
import { parsePayload } from '../../jobs/define-job.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';

let database: TestDatabase;
let tenant: string;
let student: string;

// [date, period, status]: a whole-day mark is period 0.
const marks: [string, number, string][] = [
  ['2026-02-02', 0, 'present'],
  ['2026-02-03', 0, 'late'],
  ['2026-02-04', 0, 'excused'],
  ['2026-02-05', 0, 'absent'],
  // Half the periods attended.
  ['2026-02-06', 1, 'present'],
  ['2026-02-06', 2, 'present'],
  ['2026-02-06', 3, 'absent'],
  ['2026-02-06', 4, 'absent'],
  // 7 and 8 February are a weekend: no marks.
  ['2026-02-09', 1, 'present'],
  ['2026-02-09', 2, 'late'],
  ['2026-02-09', 3, 'present'],
  ['2026-02-09', 4, 'present'],
  // One period attended, the missed ones excused.
  ['2026-02-10', 1, 'present'],
  ['2026-02-10', 2, 'excused'],
  ['2026-02-10', 3, 'excused'],
  ['2026-02-10', 4, 'excused'],
  // A whole-day mark wins over period marks.
  ['2026-02-11', 0, 'present'],
  ['2026-02-11', 1, 'absent'],
  ['2026-02-11', 2, 'absent'],
  // Before this student's enrollments begin (the seed's year starts 9 March).
  ['2026-03-02', 0, 'present'],
];

beforeAll(async () => {
  database = await createTestDatabase();
  const summary = await seedSchools(database.db, { tenants: 1, students: 3, days: 5 });
  tenant = summary.tenants[0]!.id;
  const { rows } = await sql<{
    id: string;
  }>`SELECT id FROM students WHERE tenant_id = ${tenant}::uuid ORDER BY id LIMIT 1`.execute(database.db);
  student = rows[0]!.id;
  for (const [date, period, status] of marks) {
    await sql`INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status)
              VALUES (${tenant}::uuid, ${student}::uuid, ${date}::date, ${period}, ${status})`.execute(
      database.db,
    );
  }
});
afterAll(() => database.drop());

async function rollupWith(attendance: Record<string, unknown>) {
  await sql`UPDATE tenants SET settings = jsonb_build_object('attendance', ${JSON.stringify(attendance)}::jsonb)
            WHERE id = ${tenant}::uuid`.execute(database.db);
  await attendanceRollup.run(
    parsePayload(attendanceRollup, { tenantId: tenant }),
    testJobContext(database.db),
  );
  const { rows } = await sql<Record<string, number>>`
    SELECT school_days, days_in_membership, days_attended, days_present, days_tardy, days_absent, days_excused
    FROM attendance_monthly WHERE tenant_id = ${tenant}::uuid AND student_id = ${student}::uuid AND month = '2026-02-01'`.execute(
    database.db,
  );
  return rows[0];
}

describe('attendance policy variants', () => {
  it('default: present, late and tardy attend; excused counts as absence; half the periods make a day', async () => {
    expect(await rollupWith({})).toEqual({
      school_days: 8,
      days_in_membership: 8,
      days_attended: 5,
      days_present: 3,
      days_tardy: 2,
      days_absent: 1,
      days_excused: 2,
    });
  });

  it('excused days can be left out of membership', async () => {
    expect(await rollupWith({ excusedCountsAsAbsence: false })).toMatchObject({
      days_in_membership: 6,
      days_attended: 5,
      days_excused: 2,
    });
  });

  it('"absent in any period" makes the half-attended day an absence', async () => {
    expect(await rollupWith({ dayRule: 'absent-any-period' })).toMatchObject({
      days_attended: 4,
      days_present: 2,
      days_tardy: 2,
      days_absent: 2,
      days_excused: 2,
    });
  });

  it('when late does not count as attending, a late day is an absence', async () => {
    expect(await rollupWith({ attendedStatuses: ['present'] })).toMatchObject({
      days_attended: 4,
      days_present: 4,
      days_tardy: 0,
      days_absent: 2,
      days_excused: 2,
    });
  });

  it('weekends and holidays are not absences, and ADA exists only for days with marks', async () => {
    await rollupWith({});
    const { rows } = await sql<{ attendance_date: string; ada: string }>`
      SELECT attendance_date, ada FROM attendance_daily_school
      WHERE tenant_id = ${tenant}::uuid AND attendance_date BETWEEN '2026-02-06' AND '2026-02-09' ORDER BY 1`.execute(
      database.db,
    );
    expect(rows).toEqual([
      { attendance_date: '2026-02-06', ada: '100.00' },
      { attendance_date: '2026-02-09', ada: '100.00' },
    ]);
  });

  it('enrollment summaries count only days inside the enrollment, even within a month', async () => {
    await rollupWith({});
    const { rows } = await sql<{ total_days: number; school_days: number; marked: number }>`
      SELECT e.total_days,
             (SELECT school_days FROM attendance_monthly m
              WHERE m.tenant_id = e.tenant_id AND m.student_id = e.student_id AND m.month = '2026-03-01') AS school_days,
             (SELECT count(DISTINCT attendance_date) FROM attendance a
              WHERE a.tenant_id = e.tenant_id AND a.student_id = e.student_id AND a.attendance_date >= e.enrollment_date)::int AS marked
      FROM enrollments e WHERE e.tenant_id = ${tenant}::uuid AND e.student_id = ${student}::uuid`.execute(
      database.db,
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.total_days).toBe(row.marked);
      expect(row.school_days).toBe(row.marked + 1); // the 2 March mark is in the month, not the enrollment
    }
  });

  it('a drop date mid-month ends the enrollment window there', async () => {
    const { rows: days } = await sql<{ d: string }>`
      SELECT DISTINCT attendance_date::text AS d FROM attendance
      WHERE tenant_id = ${tenant}::uuid AND student_id = ${student}::uuid AND attendance_date >= '2026-03-09' ORDER BY 1`.execute(
      database.db,
    );
    expect(days.length).toBeGreaterThan(2);
    const dropDate = days[1]!.d;
    await sql`UPDATE enrollments SET drop_date = ${dropDate}::date, status = 'dropped'
              WHERE tenant_id = ${tenant}::uuid AND student_id = ${student}::uuid`.execute(database.db);
    // Incremental: the changed window marks the student dirty by itself.
    const result = await attendanceRollup.run(
      parsePayload(attendanceRollup, { tenantId: tenant }),
      testJobContext(database.db),
    );
    expect(result.tenants[0]).toMatchObject({ mode: 'incremental' });
    expect(result.tenants[0]!.counts.enrollmentsUpdated).toBeGreaterThan(0);
    const { rows } = await sql<{ total_days: number }>`
      SELECT total_days FROM enrollments WHERE tenant_id = ${tenant}::uuid AND student_id = ${student}::uuid`.execute(
      database.db,
    );
    for (const row of rows) expect(row.total_days).toBe(2);
  });

  it('a bad setting is an InputError naming it', () => {
    for (const [attendance, field] of [
      [{ attendedStatuses: ['present', 'sick'] }, 'settings.attendance.attendedStatuses'],
      [{ dayRule: 'sometimes' }, 'settings.attendance.dayRule'],
      [{ chronicMinimumDays: 0 }, 'settings.attendance.chronicMinimumDays'],
      [{ chronicAbsencePercent: 150 }, 'settings.attendance.chronicAbsencePercent'],
    ] as const) {
      let error: unknown;
      try {
        attendancePolicyFrom({ attendance });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).field?.startsWith(field), String(error)).toBe(true);
    }
  });
});
