// The attendance rollup on generated schools: the seed reference function, incremental versus
// full, idempotency, chronic flags, the dirty set under concurrent marking, and bad input.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../../core/errors.js';
import { withTenant } from '../../core/tenant-scope.js';
import { termToDateRates } from '../../jobs/attendance/figures.js';
import { attendanceRollup } from '../../jobs/attendance-rollup.js';
import { parsePayload } from '../../jobs/define-job.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';

let database: TestDatabase;
let tenantA: string;
let tenantB: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const summary = await seedSchools(database.db, { tenants: 2, students: 40, days: 45 });
  [tenantA, tenantB] = summary.tenants.map((t) => t.id) as [string, string];
});
afterAll(() => database.drop());

type RunResult = Awaited<ReturnType<typeof attendanceRollup.run>>;

function rollup(payload: unknown, now = '2026-03-16T12:00:00Z'): Promise<RunResult> {
  return attendanceRollup.run(parsePayload(attendanceRollup, payload), testJobContext(database.db, { now }));
}

async function setPolicy(tenantId: string, attendance: Record<string, unknown>): Promise<void> {
  await sql`UPDATE tenants SET settings = jsonb_set(settings, '{attendance}', ${JSON.stringify(attendance)}::jsonb)
            WHERE id = ${tenantId}::uuid`.execute(database.db);
}

const totalWrites = (result: RunResult) =>
  result.tenants.reduce((n, t) => n + Object.values(t.counts).reduce((a, b) => a + b, 0), 0);

/** Everything the rollup owns, as comparable text. */
async function snapshot() {
  const read = async (query: ReturnType<typeof sql>) =>
    (await query.execute(database.db)).rows.map((r) => JSON.stringify(r));
  return {
    monthly: await read(sql`
      SELECT tenant_id, student_id, month, school_days, days_in_membership, days_attended, days_present, days_tardy,
             days_absent, days_excused FROM attendance_monthly ORDER BY 1, 2, 3`),
    daily: await read(sql`
      SELECT tenant_id, attendance_date, students_marked, days_in_membership, days_attended, days_tardy, days_absent,
             days_excused, ada FROM attendance_daily_school ORDER BY 1, 2`),
    chronic: await read(sql`
      SELECT tenant_id, student_id, year_start, year_end, days_in_membership, days_missed, absence_rate, is_chronic,
             first_flagged_on FROM attendance_chronic_absence ORDER BY 1, 2, 3`),
    enrollments: await read(sql`
      SELECT id, total_days, days_present, days_absent, days_tardy, days_excused, attendance_rate
      FROM enrollments ORDER BY id`),
  };
}

describe('attendance rollup', () => {
  it('with "present only, excused counts as absent" matches seed 000 calculate_attendance_percentage', async () => {
    await setPolicy(tenantA, { attendedStatuses: ['present'], excusedCountsAsAbsence: true });
    const result = await rollup({ tenantId: tenantA });
    expect(result.tenants[0]).toMatchObject({ mode: 'full' });
    // Every student, whole range: sum of the monthly rows versus the reference function.
    const { rows } = await sql<{ student_id: string; ours: string | null; reference: string }>`
      WITH range AS (SELECT min(attendance_date) AS f, max(attendance_date) AS t FROM attendance WHERE tenant_id = ${tenantA}::uuid)
      SELECT s.id AS student_id,
             round(sum(m.days_attended) * 100.0 / NULLIF(sum(m.days_in_membership), 0), 2)::text AS ours,
             calculate_attendance_percentage(s.id, r.f, r.t)::text AS reference
      FROM students s CROSS JOIN range r
      LEFT JOIN attendance_monthly m ON m.tenant_id = s.tenant_id AND m.student_id = s.id
      WHERE s.tenant_id = ${tenantA}::uuid GROUP BY s.id, r.f, r.t`.execute(database.db);
    expect(rows.length).toBe(40);
    for (const row of rows) expect(Number(row.ours), row.student_id).toBe(Number(row.reference));
    // Not all 100%: the comparison has something to compare.
    expect(new Set(rows.map((r) => r.reference)).size).toBeGreaterThan(5);

    // Term-to-date (mid-month asOf: whole months from the rollup plus live edge days).
    const asOf = '2026-03-04';
    const ids = rows.map((r) => r.student_id);
    const rates = await withTenant(database.db, tenantA, (trx) => termToDateRates(trx, tenantA, ids, asOf));
    const first = rates.get(ids[0]!)!;
    expect(first.termStart).toBe('2026-01-03'); // Semester 2, narrower than the year
    const { rows: reference } = await sql<{ id: string; pct: string }>`
      SELECT s.id, calculate_attendance_percentage(s.id, ${first.termStart}::date, ${asOf}::date)::text AS pct
      FROM students s WHERE s.tenant_id = ${tenantA}::uuid`.execute(database.db);
    for (const row of reference) expect(Number(rates.get(row.id)!.rate), row.id).toBe(Number(row.pct));
  });

  it('term-to-date figures are tenant-scoped: another tenant’s students come back empty', async () => {
    const { rows } = await sql<{
      id: string;
    }>`SELECT id FROM students WHERE tenant_id = ${tenantA}::uuid LIMIT 3`.execute(database.db);
    const rates = await withTenant(database.db, tenantB, (trx) =>
      termToDateRates(
        trx,
        tenantB,
        rows.map((r) => r.id),
        '2026-03-10',
      ),
    );
    for (const rate of rates.values()) expect(rate).toMatchObject({ daysInMembership: 0, rate: null });
  });

  it('term-to-date falls back to the August-July year when no term contains the date', async () => {
    const { rows } = await sql<{
      id: string;
    }>`SELECT id FROM students WHERE tenant_id = ${tenantA}::uuid LIMIT 2`.execute(database.db);
    const ids = rows.map((r) => r.id);
    const rates = await withTenant(database.db, tenantA, (trx) =>
      termToDateRates(trx, tenantA, ids, '2026-07-15'),
    );
    const { rows: reference } = await sql<{ membership: number }>`
      SELECT count(DISTINCT attendance_date)::int AS membership FROM attendance
      WHERE tenant_id = ${tenantA}::uuid AND student_id = ${ids[0]}::uuid AND attendance_date BETWEEN '2025-08-01' AND '2026-07-15'`.execute(
      database.db,
    );
    expect(rates.get(ids[0]!)).toMatchObject({
      termStart: '2025-08-01',
      termEnd: '2026-07-31',
      daysInMembership: reference[0]!.membership,
    });
    await expect(
      withTenant(database.db, tenantA, (trx) => termToDateRates(trx, tenantA, ids, '2026-02-30')),
    ).rejects.toBeInstanceOf(InputError);
  });

  it('a second run writes nothing, incremental or full', async () => {
    await setPolicy(tenantA, {});
    await rollup({}); // policy changed for A, first run for B: both full
    const before = await snapshot();
    const again = await rollup({});
    expect(again.tenants.map((t) => t.mode)).toEqual(['incremental', 'incremental']);
    // Rewriting enrollment summaries did not mark anything dirty.
    expect(again.tenants.map((t) => t.claimed)).toEqual([0, 0]);
    expect(totalWrites(again)).toBe(0);
    expect(again.changed).toBe(false);
    const full = await rollup({ full: true });
    expect(full.tenants.map((t) => t.mode)).toEqual(['full', 'full']);
    expect(totalWrites(full)).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  it('only a changed enrollment window marks its student dirty, on both of its start days', async () => {
    await rollup({});
    const dirty = async () =>
      (
        await sql<{ student_id: string; d: string }>`
          SELECT student_id, attendance_date::text AS d FROM attendance_rollup_dirty
          WHERE tenant_id = ${tenantB}::uuid ORDER BY 1, 2`.execute(database.db)
      ).rows;
    // Window columns set to the values they hold, and summary columns: nothing to recompute.
    await sql`UPDATE enrollments SET enrollment_date = enrollment_date, drop_date = drop_date,
                                     total_days = total_days
              WHERE tenant_id = ${tenantB}::uuid`.execute(database.db);
    expect(await dirty()).toEqual([]);
    const { rows } = await sql<{ id: string; student_id: string; old_start: string; new_start: string }>`
      SELECT id, student_id, enrollment_date::text AS old_start, (enrollment_date + 1)::text AS new_start
      FROM enrollments WHERE tenant_id = ${tenantB}::uuid ORDER BY id LIMIT 1`.execute(database.db);
    const moved = rows[0]!;
    await sql`UPDATE enrollments SET enrollment_date = enrollment_date + 1 WHERE id = ${moved.id}::uuid`.execute(
      database.db,
    );
    expect(await dirty()).toEqual([
      { student_id: moved.student_id, d: moved.old_start },
      { student_id: moved.student_id, d: moved.new_start },
    ]);
    const incremental = await rollup({ tenantId: tenantB });
    expect(incremental.tenants[0]).toMatchObject({ mode: 'incremental', claimed: 2 });
    const afterIncremental = await snapshot();
    const full = await rollup({ tenantId: tenantB, full: true });
    expect(totalWrites(full)).toBe(0);
    expect(await snapshot()).toEqual(afterIncremental);
  });

  it('a changed academic year term makes the next run of that tenant a full rebuild; a renamed term does not', async () => {
    await rollup({});
    const requested = async () =>
      (
        await sql<{ at: Date | null }>`SELECT full_rebuild_requested_at AS at FROM attendance_rollup_state
                                       WHERE tenant_id = ${tenantA}::uuid`.execute(database.db)
      ).rows[0]!.at;
    await sql`UPDATE academic_terms SET name = name || ' (renamed)' WHERE tenant_id = ${tenantA}::uuid`.execute(
      database.db,
    );
    expect(await requested()).toBeNull();

    const chronicBefore = (await snapshot()).chronic;
    const moveYearStart = (start: string) =>
      sql`UPDATE academic_terms SET start_date = ${start}::date
          WHERE tenant_id = ${tenantA}::uuid AND kind = 'year' AND start_date <= '2026-02-01'
            AND end_date >= '2026-02-01'`.execute(database.db);
    const { numAffectedRows } = await moveYearStart('2026-02-01');
    expect(Number(numAffectedRows)).toBe(1);
    expect(await requested()).not.toBeNull();

    const after = await rollup({});
    expect(after.tenants.map((t) => [t.mode, t.reason])).toEqual([
      ['full', 'the academic year terms changed'],
      ['incremental', undefined],
    ]);
    expect(await requested()).toBeNull();
    const moved = await snapshot();
    // The year now starts in February: chronic rows cover other days than before.
    expect(moved.chronic).not.toEqual(chronicBefore);
    expect((await rollup({})).tenants.map((t) => t.mode)).toEqual(['incremental', 'incremental']);
    await rollup({ full: true });
    expect(await snapshot()).toEqual(moved);

    // Put the year back (a full run again) for the tests that follow. The figures come back; a
    // first-flagged date of a flag that is off again belonged to the year rows the move replaced.
    await moveYearStart('2025-08-20');
    expect((await rollup({})).tenants[0]!.mode).toBe('full');
    const withoutHistory = (rows: string[]) =>
      rows.map((row) => ({ ...JSON.parse(row), first_flagged_on: 0 }));
    expect(withoutHistory((await snapshot()).chronic)).toEqual(withoutHistory(chronicBefore));
  });

  it('incremental after inserts, updates, deletes and a late correction equals a full rebuild', async () => {
    await rollup({});
    const { rows: past } = await sql<{ student_id: string; attendance_date: string }>`
      SELECT student_id, attendance_date FROM attendance
      WHERE tenant_id = ${tenantA}::uuid AND status = 'present' AND attendance_date < '2026-02-01'
      ORDER BY attendance_date, student_id LIMIT 1`.execute(database.db);
    const correction = past[0]!;
    const month = `${correction.attendance_date.slice(0, 7)}-01`;
    const monthBefore = await sql<{ days_absent: number }>`
      SELECT days_absent FROM attendance_monthly
      WHERE tenant_id = ${tenantA}::uuid AND student_id = ${correction.student_id}::uuid AND month = ${month}::date`.execute(
      database.db,
    );
    // A late correction to a past month, a new school day for B, period marks replacing a
    // whole-day mark, a moved mark and a deleted day.
    await sql`UPDATE attendance SET status = 'absent'
              WHERE tenant_id = ${tenantA}::uuid AND student_id = ${correction.student_id}::uuid
                AND attendance_date = ${correction.attendance_date}::date`.execute(database.db);
    await sql`INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status)
              SELECT tenant_id, id, DATE '2026-03-16', 0, CASE WHEN random() < 0.2 THEN 'absent' ELSE 'present' END
              FROM students WHERE tenant_id = ${tenantB}::uuid`.execute(database.db);
    await sql`INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status)
              SELECT tenant_id, student_id, attendance_date, p, CASE WHEN p <= 2 THEN 'absent' ELSE 'present' END
              FROM attendance, generate_series(1, 5) p
              WHERE tenant_id = ${tenantA}::uuid AND attendance_date = '2026-03-02' AND period = 0`.execute(
      database.db,
    );
    await sql`DELETE FROM attendance WHERE tenant_id = ${tenantA}::uuid AND attendance_date = '2026-03-02' AND period = 0`.execute(
      database.db,
    );
    await sql`UPDATE attendance SET attendance_date = '2026-02-28'
              WHERE tenant_id = ${tenantB}::uuid AND attendance_date = '2026-02-27'
                AND student_id = (SELECT student_id FROM attendance WHERE tenant_id = ${tenantB}::uuid ORDER BY 1 LIMIT 1)`.execute(
      database.db,
    );
    await sql`DELETE FROM attendance WHERE tenant_id = ${tenantB}::uuid AND attendance_date = '2026-01-20'`.execute(
      database.db,
    );

    const incremental = await rollup({});
    expect(incremental.tenants.map((t) => t.mode)).toEqual(['incremental', 'incremental']);
    expect(incremental.tenants.every((t) => t.claimed > 0)).toBe(true);
    const monthAfter = await sql<{ days_absent: number }>`
      SELECT days_absent FROM attendance_monthly
      WHERE tenant_id = ${tenantA}::uuid AND student_id = ${correction.student_id}::uuid AND month = ${month}::date`.execute(
      database.db,
    );
    expect(monthAfter.rows[0]!.days_absent).toBe(monthBefore.rows[0]!.days_absent + 1);
    const { rows: gone } = await sql<{ n: number }>`
      SELECT count(*) AS n FROM attendance_daily_school WHERE tenant_id = ${tenantB}::uuid AND attendance_date = '2026-01-20'`.execute(
      database.db,
    );
    expect(gone[0]!.n).toBe(0);

    const afterIncremental = await snapshot();
    const full = await rollup({ full: true });
    expect(totalWrites(full)).toBe(0);
    expect(await snapshot()).toEqual(afterIncremental);
    const { rows: dirty } = await sql<{ n: number }>`
      SELECT (SELECT count(*) FROM attendance_rollup_dirty) + (SELECT count(*) FROM attendance_rollup_claims) AS n`.execute(
      database.db,
    );
    expect(dirty[0]!.n).toBe(0);
  });

  it('the nightly new day is added to enrollment summaries and chronic rows, and a changed window is recomputed', async () => {
    await rollup({});
    // A new enrollment whose window starts the day after the student's last mark of a past month:
    // its claim looks like an appended day, but the window already holds the later months' marks,
    // so adding the new days alone would be wrong.
    const { rows: picked } = await sql<{ student_id: string; starts: string; class_id: string }>`
      SELECT m.student_id, (m.last_day + 1)::text AS starts,
             (SELECT c.id FROM classes c WHERE c.tenant_id = m.tenant_id
                AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.tenant_id = c.tenant_id AND e.class_id = c.id
                                  AND e.student_id = m.student_id)
              ORDER BY c.id LIMIT 1) AS class_id
      FROM attendance_monthly m
      WHERE m.tenant_id = ${tenantA}::uuid AND m.last_day < (m.month + interval '1 month - 1 day')::date
        AND m.month < (SELECT max(month) FROM attendance_monthly WHERE tenant_id = ${tenantA}::uuid)
      ORDER BY m.month, m.student_id LIMIT 1`.execute(database.db);
    const target = picked[0]!;
    expect(target.class_id).toBeTruthy();
    const { rows: inserted } = await sql<{ id: string }>`
      INSERT INTO enrollments (tenant_id, student_id, class_id, enrollment_date)
      VALUES (${tenantA}::uuid, ${target.student_id}::uuid, ${target.class_id}::uuid, ${target.starts}::date)
      RETURNING id`.execute(database.db);
    // The nightly case: a new school day for every student of A.
    await sql`INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status)
              SELECT tenant_id, id, DATE '2026-03-17', 0,
                     (ARRAY['present', 'late', 'absent', 'excused', 'present'])[1 + abs(hashtext(id::text)) % 5]
              FROM students WHERE tenant_id = ${tenantA}::uuid`.execute(database.db);
    const incremental = await rollup({ tenantId: tenantA }, '2026-03-17T20:00:00Z');
    expect(incremental.tenants[0]).toMatchObject({ mode: 'incremental' });
    expect(incremental.tenants[0]!.counts.enrollmentsUpdated).toBeGreaterThan(40);
    expect(incremental.tenants[0]!.counts.chronicWritten).toBeGreaterThan(30);
    const { rows: fresh } = await sql<{ total_days: number }>`
      SELECT total_days FROM enrollments WHERE id = ${inserted[0]!.id}::uuid`.execute(database.db);
    expect(fresh[0]!.total_days).toBeGreaterThan(1);
    const afterIncremental = await snapshot();
    const full = await rollup({ tenantId: tenantA, full: true }, '2026-03-17T20:00:00Z');
    expect(totalWrites(full)).toBe(0);
    expect(await snapshot()).toEqual(afterIncremental);
  });

  it('flags chronic absence only past the minimum days, and keeps the first-flagged date', async () => {
    // Start from no history of flags for A (earlier tests ran the default policy).
    await sql`DELETE FROM attendance_chronic_absence WHERE tenant_id = ${tenantA}::uuid`.execute(database.db);
    await setPolicy(tenantA, { chronicMinimumDays: 1000 });
    await rollup({ tenantId: tenantA });
    const flagged = async () =>
      (
        await sql<{ student_id: string; first_flagged_on: string | null; is_chronic: boolean }>`
        SELECT student_id, first_flagged_on, is_chronic FROM attendance_chronic_absence
        WHERE tenant_id = ${tenantA}::uuid AND is_chronic ORDER BY student_id`.execute(database.db)
      ).rows;
    expect(await flagged()).toEqual([]);
    await setPolicy(tenantA, { chronicMinimumDays: 10, chronicAbsencePercent: 10 });
    await rollup({ tenantId: tenantA }, '2026-03-17T12:00:00Z');
    const first = await flagged();
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((r) => r.first_flagged_on === '2026-03-17')).toBe(true);
    // The flag follows the rule exactly.
    const { rows: wrong } = await sql<{ n: number }>`
      SELECT count(*) AS n FROM attendance_chronic_absence
      WHERE tenant_id = ${tenantA}::uuid
        AND is_chronic <> (days_in_membership >= 10 AND days_missed * 100.0 >= 10 * days_in_membership)`.execute(
      database.db,
    );
    expect(wrong[0]!.n).toBe(0);
    // A later full rebuild does not move the date, nor does the flag turning off and on again.
    await rollup({ tenantId: tenantA, full: true }, '2026-03-20T12:00:00Z');
    expect(await flagged()).toEqual(first);
    await setPolicy(tenantA, { chronicMinimumDays: 1000 });
    await rollup({ tenantId: tenantA }, '2026-03-21T12:00:00Z');
    expect(await flagged()).toEqual([]);
    await setPolicy(tenantA, {});
    await rollup({ tenantId: tenantA }, '2026-03-22T12:00:00Z');
    expect(await flagged()).toEqual(first);
  });

  it('marks written while a run is in progress are neither blocked nor lost', async () => {
    await rollup({});
    const teacher = new pg.Client({ connectionString: database.url });
    await teacher.connect();
    try {
      const { rows } = await sql<{
        id: string;
      }>`SELECT id FROM students WHERE tenant_id = ${tenantA}::uuid LIMIT 1`.execute(database.db);
      const studentId = rows[0]!.id;
      await teacher.query('BEGIN');
      await teacher.query(
        `INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status) VALUES ($1, $2, '2026-03-16', 0, 'absent')
         ON CONFLICT (tenant_id, student_id, attendance_date, period) DO UPDATE SET status = 'absent'`,
        [tenantA, studentId],
      );
      // The run completes while the teacher's transaction is open (no waiting on it)...
      const during = await rollup({ tenantId: tenantA });
      expect(during.tenants[0]!.mode).toBe('incremental');
      await teacher.query('COMMIT');
      // ...and the mark committed afterwards is picked up by the next run.
      const next = await rollup({ tenantId: tenantA });
      expect(next.tenants[0]!.claimed).toBe(1);
      const { rows: month } = await sql<{ n: number }>`
        SELECT count(*) AS n FROM attendance_monthly
        WHERE tenant_id = ${tenantA}::uuid AND student_id = ${studentId}::uuid AND month = '2026-03-01'`.execute(
        database.db,
      );
      expect(month[0]!.n).toBe(1);
    } finally {
      await teacher.end();
    }
  });

  it('a second run of the same tenant at the same time skips', async () => {
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(40401, hashtext($1))', [tenantB]);
      const result = await rollup({ tenantId: tenantB });
      expect(result.tenants[0]).toMatchObject({ mode: 'skipped' });
    } finally {
      await holder.end();
    }
  });

  it('chains mv-refresh for the views it feeds when something changed', async () => {
    await sql`UPDATE attendance SET status = 'late' WHERE tenant_id = ${tenantB}::uuid AND attendance_date = '2026-03-03'`.execute(
      database.db,
    );
    const ctx = testJobContext(database.db, { jobId: 'attendance-rollup.all.20260316T0215Z' });
    const result = await attendanceRollup.run(parsePayload(attendanceRollup, {}), ctx);
    expect(result.changed).toBe(true);
    expect(ctx.enqueued).toEqual([
      {
        kind: 'mv-refresh',
        payload: {
          views: ['student_attendance_summary', 'class_enrollment_summary', 'school_daily_attendance'],
        },
        options: { jobId: 'mv-refresh.after.attendance-rollup.all.20260316T0215Z' },
      },
    ]);
  });
});

describe('attendance rollup bad input', () => {
  it('rejects a tenant id that is not a UUID, and an unknown tenant, without retry', async () => {
    expect(() => parsePayload(attendanceRollup, { tenantId: 'lincoln' })).toThrow(InputError);
    await expect(rollup({ tenantId: randomUUID() })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects an unknown status or an impossible threshold naming the setting, writing nothing', async () => {
    const before = await snapshot();
    await setPolicy(tenantA, { attendedStatuses: ['present', 'sick'] });
    await sql`UPDATE attendance SET status = 'absent' WHERE tenant_id = ${tenantA}::uuid AND attendance_date = '2026-03-04'`.execute(
      database.db,
    );
    const error = await rollup({ tenantId: tenantA }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain('settings.attendance.attendedStatuses');

    await setPolicy(tenantA, { chronicAbsencePercent: 150 });
    // All tenants: B is still rolled up, and the failure names A's setting.
    const all = await rollup({}).catch((e: unknown) => e);
    expect(all).toBeInstanceOf(InputError);
    expect((all as Error).message).toContain(tenantA);
    expect((all as Error).message).toContain('settings.attendance.chronicAbsencePercent');
    const after = await snapshot();
    expect(after.monthly.filter((r) => r.includes(tenantA))).toEqual(
      before.monthly.filter((r) => r.includes(tenantA)),
    );
    const { rows } = await sql<{
      n: number;
    }>`SELECT count(*) AS n FROM attendance_rollup_dirty WHERE tenant_id = ${tenantA}::uuid`.execute(
      database.db,
    );
    expect(rows[0]!.n).toBeGreaterThan(0); // A's changes wait for a fixed policy
  });
});
