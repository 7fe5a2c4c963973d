// What the rollup goals leave room for (issue 4), measured on the database `npm run bench:rollups`
// (or `-- --full`) leaves behind, already rolled up. Each floor is the bare write a rollup that
// stores its results cannot avoid, timed inside a transaction that is rolled back:
//   - a full rebuild must insert every monthly and chronic row and rewrite every enrollment
//     summary: their sum, against the same bare aggregate bench:rollups uses;
//   - a nightly run must add the new day to every enrollment active on it: a bare UPDATE of those
//     rows, against 0.03 of the full rollup's time (given as FULL_ROLLUP_MS, from bench:rollups);
//   - REFRESH ... CONCURRENTLY has a fixed cost: a trivial view of as many rows as the daily ADA
//     view, refreshed, against materialising its (near-free) query.
// The monthly and chronic inserts go into empty copies without the foreign key to students, so
// these floors are if anything low.
//   npm run bench:rollup-floors            [FULL_ROLLUP_MS=<fullRollupMs of bench:rollups>]
import { sql, type Transaction } from 'kysely';
import type { Database } from '../core/database-types.js';
import { createDatabase } from '../core/db.js';
import { silentLogger } from '../core/logger.js';
import { benchDatabaseUrl, report, round, timed } from './lib.js';
import { bareRollupAggregate } from './rollup-baseline.js';

const { db, close } = createDatabase(benchDatabaseUrl('bench_rollups'), { log: silentLogger, max: 2 });

/** Time `work` in a transaction that is rolled back, so the database stays as bench:rollups left it. */
async function rolledBack(work: (trx: Transaction<Database>) => Promise<unknown>): Promise<number> {
  let ms = 0;
  await db
    .transaction()
    .execute(async (trx) => {
      ms = (await timed(() => work(trx))).ms;
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return ms;
}
class RolledBack extends Error {}

/** Every row of `table` inserted in key order into an empty copy with its indexes. */
const insertInto = (table: string, key: string) => (trx: Transaction<Database>) =>
  sql
    .raw(`CREATE TABLE floor_copy (LIKE ${table} INCLUDING ALL);
          INSERT INTO floor_copy SELECT * FROM ${table} ORDER BY ${key}`)
    .execute(trx);

try {
  const { rows: sizes } = await sql<{ marks: string; monthly: string; lastDay: string | null }>`
    SELECT (SELECT count(*) FROM attendance) AS marks, (SELECT count(*) FROM attendance_monthly) AS monthly,
           (SELECT max(attendance_date)::text FROM attendance) AS "lastDay"`.execute(db);
  if (!sizes[0] || Number(sizes[0].monthly) === 0) {
    throw new Error('bench_rollups has no rollup rows: run `npm run bench:rollups` (or `-- --full`) first');
  }
  const lastDay = sizes[0].lastDay!;
  await bareRollupAggregate.execute(db); // warm the cache, as bench:rollups does
  const bare = await timed(() => bareRollupAggregate.execute(db));
  const monthlyMs = await rolledBack(insertInto('attendance_monthly', 'tenant_id, student_id, month'));
  const chronicMs = await rolledBack(
    insertInto('attendance_chronic_absence', 'tenant_id, student_id, year_start'),
  );
  const enrollmentsMs = await rolledBack((trx) =>
    sql`UPDATE enrollments SET total_days = total_days + 1`.execute(trx),
  );
  let activeOnLastDay = 0;
  const nightlyEnrollmentsMs = await rolledBack(async (trx) => {
    const updated = await sql`
      UPDATE enrollments SET total_days = total_days + 1
      WHERE enrollment_date <= ${lastDay}::date AND (drop_date IS NULL OR drop_date >= ${lastDay}::date)`.execute(
      trx,
    );
    activeOnLastDay = Number(updated.numAffectedRows ?? 0n);
  });

  // A trivial materialized view as large as mv_school_daily_attendance.
  const { rows: adaRows } = await sql<{
    n: string;
  }>`SELECT count(*) AS n FROM mv_school_daily_attendance`.execute(db);
  const viewRows = Number(adaRows[0]?.n ?? 0);
  await sql`DROP MATERIALIZED VIEW IF EXISTS floor_trivial_view`.execute(db);
  await sql`CREATE MATERIALIZED VIEW floor_trivial_view AS SELECT g, g * 2 AS twice FROM generate_series(1, ${sql.lit(viewRows)}) g`.execute(
    db,
  );
  await sql`CREATE UNIQUE INDEX ON floor_trivial_view (g)`.execute(db);
  const materialise = () =>
    db.connection().execute(async (conn) => {
      await sql`CREATE TEMP TABLE floor_view_rows AS SELECT g, g * 2 AS twice FROM generate_series(1, ${sql.lit(viewRows)}) g`.execute(
        conn,
      );
      await sql`DROP TABLE floor_view_rows`.execute(conn);
    });
  const refresh = () => sql`REFRESH MATERIALIZED VIEW CONCURRENTLY floor_trivial_view`.execute(db);
  await materialise();
  await refresh();
  const query = await timed(materialise);
  const refreshed = await timed(refresh);
  await sql`DROP MATERIALIZED VIEW floor_trivial_view`.execute(db);

  const writeFloorMs = monthlyMs + chronicMs + enrollmentsMs;
  const fullRollupMs = process.env.FULL_ROLLUP_MS ? Number(process.env.FULL_ROLLUP_MS) : undefined;
  report('rollup-floors', {
    attendanceRows: Number(sizes[0].marks),
    monthlyRows: Number(sizes[0].monthly),
    bareAggregateMs: round(bare.ms, 0),
    monthlyInsertMs: round(monthlyMs, 0),
    chronicInsertMs: round(chronicMs, 0),
    enrollmentsRewriteMs: round(enrollmentsMs, 0),
    writeFloorInBareAggregates: round(writeFloorMs / bare.ms),
    // One aggregate-equivalent pass plus the writes: the least a full rollup / bare can be.
    fullRatioFloor: round(1 + writeFloorMs / bare.ms),
    activeEnrollmentsOnLastDay: activeOnLastDay,
    nightlyEnrollmentsUpdateMs: round(nightlyEnrollmentsMs, 0),
    ...(fullRollupMs
      ? {
          nightlyBudgetMs: round(0.03 * fullRollupMs, 0),
          nightlyFloorShareOfFull: round(nightlyEnrollmentsMs / fullRollupMs, 3),
        }
      : {}),
    trivialView: {
      rows: viewRows,
      queryMs: round(query.ms, 1),
      refreshMs: round(refreshed.ms, 1),
      ratio: round(refreshed.ms / query.ms),
    },
    goals: 'full/bare <= 1.5, incremental/full <= 0.03, refresh/query <= 2',
  });
} finally {
  await close();
}
