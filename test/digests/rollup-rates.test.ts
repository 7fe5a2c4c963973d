// The term-to-date rate in a digest comes from the attendance rollups (jobs/attendance/figures.ts):
// whole months from attendance_monthly, the partial edge months read live. These tests check the
// claim that the figure is exact even when the nightly rollup has not seen the newest marks, by
// comparing with attendance_days() over the whole term computed here in SQL.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../core/tenant-scope.js';
import { attendanceDays, attendancePolicyFrom } from '../../jobs/attendance/policy.js';
import { attendanceRollup } from '../../jobs/attendance-rollup.js';
import { parsePayload } from '../../jobs/define-job.js';
import { guardianChildFigures } from '../../jobs/digests/figures.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createDigestFixture, G, S, T } from './fixtures.js';

let database: TestDatabase;
// Tenant B has no academic_terms: the term is the academic year from 1 August, so January and
// February are whole months the rate reads from attendance_monthly.
const WEEK = { from: '2026-03-09', to: '2026-03-15' };

async function digestRate(): Promise<number | null> {
  const children = await withTenant(database.db, T.b, (trx) =>
    guardianChildFigures(trx, T.b, G.other, WEEK, {
      policy: attendancePolicyFrom({}),
      nearThresholdPoints: 2,
    }),
  );
  return children[0]?.termRate ?? null;
}

/** The truth: attended / in membership over [1 August, period end], straight from attendance_days(). */
async function liveRate(): Promise<number> {
  const { rows } = await sql<{ rate: string }>`
    SELECT round(count(*) FILTER (WHERE day_status IN ('present', 'tardy')) * 100.0
                 / count(*) FILTER (WHERE in_membership), 2)::text AS rate
    FROM ${attendanceDays(T.b, '2025-08-01', WEEK.to, attendancePolicyFrom({}))}`.execute(database.db);
  return Number(rows[0]!.rate);
}

async function mark(date: string, status: string): Promise<void> {
  await sql`INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status)
            VALUES (${T.b}, ${S.other}, ${date}, 0, ${status})`.execute(database.db);
}

async function rollup(): Promise<void> {
  await attendanceRollup.run(parsePayload(attendanceRollup, { tenantId: T.b }), testJobContext(database.db));
}

beforeAll(async () => {
  database = await createTestDatabase();
  await createDigestFixture(database.db);
  for (const date of ['2026-01-12', '2026-01-13', '2026-02-09', '2026-02-10']) await mark(date, 'present');
  await mark('2026-02-11', 'absent');
});
afterAll(() => database.drop());

describe('term-to-date rate from the rollups', () => {
  it('is exact for a tenant whose rollup never ran', async () => {
    expect(await digestRate()).toBe(await liveRate());
  });

  it('is exact after new marks in the period, before the rollup has run again', async () => {
    await rollup();
    const rolled = await digestRate();
    expect(rolled).toBe(await liveRate());
    // New marks in the digest's own week, no rollup run since: the edge month is read live.
    await mark('2026-03-12', 'absent');
    await mark('2026-03-13', 'absent');
    const rate = await digestRate();
    expect(rate).toBe(await liveRate());
    expect(rate).not.toBe(rolled);
  });

  it('is exact after a late correction in an earlier, whole month, before the rollup has run again', async () => {
    await rollup();
    await sql`UPDATE attendance SET status = 'present'
              WHERE tenant_id = ${T.b} AND student_id = ${S.other} AND attendance_date = '2026-02-11'`.execute(
      database.db,
    );
    expect(await digestRate()).toBe(await liveRate());
  });

  it('is exact after the attendance policy changed, before the rollup has run again', async () => {
    await mark('2026-02-12', 'excused');
    await rollup();
    // Only the policy changed since the run: every monthly row counts excused days the old way.
    await sql`UPDATE tenants SET settings = '{"attendance": {"excusedCountsAsAbsence": false}}'
              WHERE id = ${T.b}`.execute(database.db);
    const policy = attendancePolicyFrom({ attendance: { excusedCountsAsAbsence: false } });
    const children = await withTenant(database.db, T.b, (trx) =>
      guardianChildFigures(trx, T.b, G.other, WEEK, { policy, nearThresholdPoints: 2 }),
    );
    const { rows } = await sql<{ rate: string }>`
      SELECT round(count(*) FILTER (WHERE day_status IN ('present', 'tardy')) * 100.0
                   / count(*) FILTER (WHERE in_membership), 2)::text AS rate
      FROM ${attendanceDays(T.b, '2025-08-01', WEEK.to, policy)}`.execute(database.db);
    expect(children[0]?.termRate).toBe(Number(rows[0]!.rate));
    await sql`UPDATE tenants SET settings = '{}' WHERE id = ${T.b}`.execute(database.db);
  });
});
