// Dashboard materialized views: tenant isolation through the tenant_* views, refresh that never
// blocks readers, overlapping refreshes, and bad view names.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.js';
import { withTenant } from '../../core/tenant-scope.js';
import { refreshView } from '../../jobs/attendance/dashboard-views.js';
import { attendanceRollup } from '../../jobs/attendance-rollup.js';
import { parsePayload } from '../../jobs/define-job.js';
import { mvRefresh } from '../../jobs/mv-refresh.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';

let database: TestDatabase;
let tenantA: string;
let tenantB: string;

const tenantViews = [
  'tenant_student_attendance_summary',
  'tenant_teacher_workload',
  'tenant_class_enrollment_summary',
  'tenant_school_daily_attendance',
  'tenant_invoice_aging',
];

beforeAll(async () => {
  database = await createTestDatabase();
  const summary = await seedSchools(database.db, { tenants: 2, students: 30, days: 20 });
  [tenantA, tenantB] = summary.tenants.map((t) => t.id) as [string, string];
  const ctx = testJobContext(database.db);
  await attendanceRollup.run(parsePayload(attendanceRollup, {}), ctx);
  const refreshed = await mvRefresh.run(parsePayload(mvRefresh, {}), ctx);
  expect(refreshed.views.every((v) => v.refreshed)).toBe(true);
});
afterAll(() => database.drop());

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: database.url });
  await c.connect();
  return c;
}

describe('dashboard views', () => {
  it('each tenant sees only its own rows through the tenant views and rollup tables; no tenant sees nothing', async () => {
    for (const view of [
      ...tenantViews,
      'attendance_monthly',
      'attendance_daily_school',
      'attendance_chronic_absence',
    ]) {
      const seen = await withTenant(database.db, tenantA, async (trx) => {
        const { rows } = await sql<{ tenant_id: string; n: number }>`
          SELECT tenant_id, count(*) AS n FROM ${sql.table(view)} GROUP BY 1`.execute(trx);
        return rows;
      });
      expect(
        seen.map((r) => r.tenant_id),
        view,
      ).toEqual([tenantA]);
      const other = await withTenant(database.db, tenantA, async (trx) => {
        const { rows } = await sql<{ n: number }>`
          SELECT count(*) AS n FROM ${sql.table(view)} WHERE tenant_id = ${tenantB}::uuid`.execute(trx);
        return rows[0]!.n;
      });
      expect(other, view).toBe(0);
    }
    // The materialized views themselves are not readable by the tenant role.
    await expect(
      withTenant(database.db, tenantA, (trx) =>
        sql`SELECT 1 FROM mv_student_attendance_summary LIMIT 1`.execute(trx),
      ),
    ).rejects.toThrow(/permission denied/);
    // Without a tenant set, the tenant views are empty.
    const c = await client();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL ROLE school_app');
      const { rows } = await c.query('SELECT count(*)::int AS n FROM tenant_student_attendance_summary');
      expect(rows[0].n).toBe(0);
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
  });

  it('the student summary agrees with the rollup', async () => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*) AS n FROM mv_student_attendance_summary v
      JOIN attendance_chronic_absence c ON c.tenant_id = v.tenant_id AND c.student_id = v.student_id AND c.year_start = v.year_start
      WHERE v.days_in_membership <> c.days_in_membership
         OR v.days_in_membership - v.days_attended <> c.days_missed`.execute(database.db);
    expect(rows[0]!.n).toBe(0);
    const { rows: all } = await sql<{
      n: number;
    }>`SELECT count(*) AS n FROM mv_student_attendance_summary WHERE days_in_membership > 0`.execute(
      database.db,
    );
    expect(all[0]!.n).toBe(60);
  });

  it('a refresh in progress does not block readers, and a reader does not block the refresh', async () => {
    const refresher = await client();
    const reader = await client();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM mv_school_daily_attendance');
      // The reader's transaction stays open (a long report) while the refresh runs and holds its lock.
      await refresher.query("SET statement_timeout = '10s'");
      await refresher.query('BEGIN');
      await refresher.query('REFRESH MATERIALIZED VIEW CONCURRENTLY mv_school_daily_attendance');
      const other = await client();
      try {
        await other.query("SET statement_timeout = '5s'");
        const { rows } = await other.query('SELECT count(*)::int AS n FROM mv_school_daily_attendance');
        expect(rows[0].n).toBeGreaterThan(0);
      } finally {
        await other.end();
      }
      await refresher.query('COMMIT');
      const { rows } = await reader.query('SELECT count(*)::int AS n FROM mv_school_daily_attendance');
      expect(rows[0].n).toBeGreaterThan(0);
      await reader.query('COMMIT');
    } finally {
      await refresher.end();
      await reader.end();
    }
  });

  it('two refreshes of one view at once: the second skips and says so', async () => {
    const blocker = await client();
    try {
      // A refresh outside the job holds the view, so the job's first refresh waits inside
      // REFRESH while holding its advisory lock.
      await blocker.query('BEGIN');
      await blocker.query('REFRESH MATERIALIZED VIEW CONCURRENTLY mv_teacher_workload');
      const first = refreshView(database.db, 'teacher_workload');
      // Wait until the first refresh is really waiting on the lock.
      for (let i = 0; i < 100; i++) {
        const { rows } = await blocker.query(
          "SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'mv_teacher_workload'::regclass",
        );
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const second = await mvRefresh.run(
        parsePayload(mvRefresh, { view: 'teacher_workload' }),
        testJobContext(database.db),
      );
      expect(second.views).toEqual([
        { view: 'teacher_workload', refreshed: false, skipped: 'another refresh of this view is running' },
      ]);
      await blocker.query('COMMIT');
      expect(await first).toMatchObject({ view: 'teacher_workload', refreshed: true });
    } finally {
      await blocker.end();
    }
  });

  it('refreshes named views in dependency order and records duration and rows', async () => {
    const result = await mvRefresh.run(
      parsePayload(mvRefresh, { views: ['invoice_aging', 'student_attendance_summary'] }),
      testJobContext(database.db),
    );
    expect(result.views.map((v) => v.view)).toEqual(['student_attendance_summary', 'invoice_aging']);
    const { rows } = await sql<{ view_name: string; row_count: number }>`
      SELECT view_name, row_count FROM mv_refresh_state WHERE view_name = 'mv_student_attendance_summary'`.execute(
      database.db,
    );
    expect(Number(rows[0]!.row_count)).toBe(60);
  });

  it('an unknown view name fails naming it', async () => {
    const error = await mvRefresh
      .run(parsePayload(mvRefresh, { view: 'student_dashbord' }), testJobContext(database.db))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain('"student_dashbord"');
    expect((error as InputError).field).toBe('payload.view');
  });
});
