// The dashboard materialized views (sql/0022) and their refresh. Each refresh runs
// REFRESH MATERIALIZED VIEW CONCURRENTLY, so readers keep reading the old contents meanwhile;
// a session advisory lock per view makes an overlapping refresh of the same view skip at once
// (and say so) instead of queueing behind the first.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';
import { InputError } from '../../core/errors.js';

/** In dependency order: the ones fed by the attendance rollup first, then the independent ones. */
export const DASHBOARD_VIEWS = [
  'student_attendance_summary',
  'class_enrollment_summary',
  'school_daily_attendance',
  'teacher_workload',
  'invoice_aging',
] as const;

export type DashboardView = (typeof DASHBOARD_VIEWS)[number];

/** The views whose numbers come from the attendance rollup: refreshed right after it. */
export const ROLLUP_VIEWS: DashboardView[] = [
  'student_attendance_summary',
  'class_enrollment_summary',
  'school_daily_attendance',
];

export function parseViewNames(names: readonly string[] | undefined, field: string): DashboardView[] {
  if (!names || names.length === 0) return [...DASHBOARD_VIEWS];
  for (const name of names) {
    if (!(DASHBOARD_VIEWS as readonly string[]).includes(name)) {
      throw new InputError(
        `unknown view ${JSON.stringify(name).slice(0, 80)}; known views: ${DASHBOARD_VIEWS.join(', ')}`,
        field,
      );
    }
  }
  // Dependency order whatever order they were asked in.
  return DASHBOARD_VIEWS.filter((view) => names.includes(view));
}

export type RefreshOutcome =
  | { view: DashboardView; refreshed: true; ms: number; rows: number }
  | { view: DashboardView; refreshed: false; skipped: string };

const LOCK_CLASS = 40_402;

export async function refreshView(db: Db, view: DashboardView): Promise<RefreshOutcome> {
  const relation = `mv_${view}`;
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`
      SELECT pg_try_advisory_lock(${LOCK_CLASS}, hashtext(${relation})) AS locked`.execute(conn);
    if (!rows[0]?.locked) {
      return { view, refreshed: false, skipped: 'another refresh of this view is running' };
    }
    try {
      const started = process.hrtime.bigint();
      await sql`REFRESH MATERIALIZED VIEW CONCURRENTLY ${sql.table(relation)}`.execute(conn);
      const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
      // Count and record in one statement: every round trip adds to a small view's refresh.
      const { rows: recorded } = await sql<{ row_count: string }>`
        INSERT INTO mv_refresh_state (view_name, refreshed_at, duration_ms, row_count)
        SELECT ${relation}, now(), ${ms}, count(*) FROM ${sql.table(relation)}
        ON CONFLICT (view_name) DO UPDATE
          SET refreshed_at = EXCLUDED.refreshed_at, duration_ms = EXCLUDED.duration_ms, row_count = EXCLUDED.row_count
        RETURNING row_count`.execute(conn);
      const count = Number(recorded[0]?.row_count ?? 0);
      return { view, refreshed: true, ms, rows: count };
    } finally {
      await sql`SELECT pg_advisory_unlock(${LOCK_CLASS}, hashtext(${relation}))`.execute(conn);
    }
  });
}
