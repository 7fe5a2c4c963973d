// attendance_days() (sql/0020) passes whole-day marks straight through and groups only the
// days that have period marks and no whole-day mark. This proves it returns exactly what the plain
// two-level version (kept here verbatim as the reference) returns, on random mixed marks
// (whole-day only, periods only, both on one day, every status) under every policy variant.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';

let database: TestDatabase;
let tenant: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const summary = await seedSchools(database.db, { tenants: 1, students: 20, days: 5 });
  tenant = summary.tenants[0]!.id;
  // 20 students x 30 weekdays of February-March 2026, each day one of: whole-day mark only,
  // period marks only (1-6 periods), or both; statuses drawn from all five. Deterministic.
  await sql`DELETE FROM attendance WHERE tenant_id = ${tenant}::uuid`.execute(database.db);
  await sql`
    INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status)
    SELECT s.tenant_id, s.id, d.day, p.period,
           (ARRAY['present', 'absent', 'late', 'tardy', 'excused'])[1 + abs(hashtext(s.id::text || d.day || p.period)) % 5]
    FROM students s
    CROSS JOIN LATERAL (
      SELECT day::date FROM generate_series(DATE '2026-02-02', DATE '2026-03-13', interval '1 day') day
      WHERE extract(isodow FROM day) < 6
    ) d
    CROSS JOIN LATERAL (SELECT abs(hashtext(s.id::text || d.day)) % 3 AS kind,
                               1 + abs(hashtext(d.day || s.id::text)) % 6 AS periods) k
    CROSS JOIN LATERAL generate_series(0, 6) p(period)
    WHERE s.tenant_id = ${tenant}::uuid
      AND ((p.period = 0 AND k.kind IN (0, 2)) OR (p.period BETWEEN 1 AND k.periods AND k.kind IN (1, 2)))
    ON CONFLICT DO NOTHING`.execute(database.db);
});
afterAll(() => database.drop());

// The first, plain version: group every mark by (student, day), then apply the rule.
const reference = (attended: string[], excusedIsAbsence: boolean, dayRule: string) => sql`
  SELECT d.student_id, d.attendance_date, d.day_status, (d.day_status <> 'excused' OR ${excusedIsAbsence}) AS in_membership
  FROM (
    SELECT m.student_id, m.attendance_date,
           CASE WHEN m.attended AND m.late THEN 'tardy' WHEN m.attended THEN 'present'
                WHEN m.all_missed_excused THEN 'excused' ELSE 'absent' END AS day_status
    FROM (
      SELECT c.student_id, c.attendance_date,
             CASE WHEN c.day_marks > 0 THEN c.day_attended > 0
                  WHEN ${dayRule} = 'absent-any-period' THEN c.periods_attended = c.periods
                  ELSE c.periods_attended * 2 >= c.periods END AS attended,
             CASE WHEN c.day_marks > 0 THEN c.day_late > 0 ELSE c.periods_late > 0 END AS late,
             CASE WHEN c.day_marks > 0 THEN c.day_excused > 0
                  ELSE c.periods_excused = c.periods - c.periods_attended END AS all_missed_excused
      FROM (
        SELECT a.student_id, a.attendance_date,
               count(*) FILTER (WHERE a.period = 0) AS day_marks,
               count(*) FILTER (WHERE a.period = 0 AND a.status = ANY (${attended}::text[])) AS day_attended,
               count(*) FILTER (WHERE a.period = 0 AND a.status = ANY (${attended}::text[])
                                  AND a.status IN ('late', 'tardy')) AS day_late,
               count(*) FILTER (WHERE a.period = 0 AND a.status = 'excused'
                                  AND NOT a.status = ANY (${attended}::text[])) AS day_excused,
               count(*) FILTER (WHERE a.period > 0) AS periods,
               count(*) FILTER (WHERE a.period > 0 AND a.status = ANY (${attended}::text[])) AS periods_attended,
               count(*) FILTER (WHERE a.period > 0 AND a.status = ANY (${attended}::text[])
                                  AND a.status IN ('late', 'tardy')) AS periods_late,
               count(*) FILTER (WHERE a.period > 0 AND a.status = 'excused'
                                  AND NOT a.status = ANY (${attended}::text[])) AS periods_excused
        FROM attendance a
        WHERE a.tenant_id = ${tenant}::uuid
        GROUP BY a.student_id, a.attendance_date
      ) c
    ) m
  ) d`;

// [attended statuses, excused counts as absence, day rule, distinct day statuses that can occur]
const variants: [string[], boolean, string, number][] = [
  [['present', 'late', 'tardy'], true, 'half-of-periods', 4],
  [['present', 'late', 'tardy'], false, 'absent-any-period', 4],
  [['present'], true, 'absent-any-period', 3], // late is missed: no tardy days
  [['present', 'excused'], false, 'half-of-periods', 2], // excused attends: only present and absent
];

describe('attendance_days fast path', () => {
  it('the data mixes whole-day-only, period-only and both-on-one-day days', async () => {
    const { rows } = await sql<{ whole: number; periods: number; both: number }>`
      SELECT count(*) FILTER (WHERE has0 AND NOT hasp)::int AS whole, count(*) FILTER (WHERE hasp AND NOT has0)::int AS periods,
             count(*) FILTER (WHERE has0 AND hasp)::int AS both
      FROM (SELECT bool_or(period = 0) AS has0, bool_or(period > 0) AS hasp FROM attendance
            WHERE tenant_id = ${tenant}::uuid GROUP BY student_id, attendance_date) x`.execute(database.db);
    expect(rows[0]!.whole).toBeGreaterThan(50);
    expect(rows[0]!.periods).toBeGreaterThan(50);
    expect(rows[0]!.both).toBeGreaterThan(50);
  });

  it.each(variants)(
    'equals the two-level rule (attended %j, excused counts %s, %s)',
    async (attended, excused, rule, statuses) => {
      const fast = sql`
      SELECT * FROM attendance_days(${tenant}::uuid, '0001-01-01', '9999-12-31', ${attended}::text[], ${excused},
                                    ${rule}, NULL::uuid[])`;
      const { rows } = await sql<{
        only_fast: number;
        only_reference: number;
        total: number;
        statuses: number;
      }>`
      WITH f AS (${fast}), r AS (${reference(attended, excused, rule)})
      SELECT (SELECT count(*) FROM (SELECT * FROM f EXCEPT ALL SELECT * FROM r) x)::int AS only_fast,
             (SELECT count(*) FROM (SELECT * FROM r EXCEPT ALL SELECT * FROM f) x)::int AS only_reference,
             (SELECT count(*) FROM f)::int AS total,
             (SELECT count(DISTINCT day_status) FROM f)::int AS statuses`.execute(database.db);
      expect(rows[0]).toEqual({ only_fast: 0, only_reference: 0, total: 20 * 30, statuses });
    },
  );

  it('a student filter and a date range give the same subset', async () => {
    const { rows: ids } = await sql<{ id: string }>`
      SELECT id FROM students WHERE tenant_id = ${tenant}::uuid ORDER BY id LIMIT 3`.execute(database.db);
    const picked = ids.map((r) => r.id);
    const { rows } = await sql<{ n: number; expected: number }>`
      SELECT (SELECT count(*) FROM attendance_days(${tenant}::uuid, '2026-02-10', '2026-02-20',
                '{present,late,tardy}'::text[], true, 'half-of-periods', ${picked}::uuid[]))::int AS n,
             (SELECT count(DISTINCT (student_id, attendance_date)) FROM attendance
              WHERE tenant_id = ${tenant}::uuid AND student_id = ANY (${picked}::uuid[])
                AND attendance_date BETWEEN '2026-02-10' AND '2026-02-20')::int AS expected`.execute(
      database.db,
    );
    expect(rows[0]!.n).toBe(rows[0]!.expected);
    expect(rows[0]!.n).toBe(3 * 9);
  });
});
