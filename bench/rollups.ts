// Benchmark: the attendance rollup against a bare aggregate over the same rows, the nightly
// incremental run after one new school day of marks (plus a few late corrections) against the
// full rollup, and each dashboard view's CONCURRENTLY refresh against its defining query.
// Goals (issue 4): full / bare <= 1.5, incremental / full <= 0.03, refresh / query <= 2.
//   npm run bench:rollups              # 2 schools x 3,000 students x 182 days (~1.1M rows)
//   npm run bench:rollups -- --full    # 5 schools x 11,000 students x 182 days (~10M rows)
//   [BENCH_TENANTS=.. BENCH_STUDENTS=.. BENCH_DAYS=..] override either size
// It leaves bench_rollups rolled up, for `npm run bench:rollup-floors` (what the goals leave room for).
import { sql } from 'kysely';
import { silentLogger } from '../core/logger.js';
import { DASHBOARD_VIEWS, refreshView } from '../jobs/attendance/dashboard-views.js';
import { attendanceRollup } from '../jobs/attendance-rollup.js';
import { parsePayload } from '../jobs/define-job.js';
import { generateSchoolData } from '../seed/generate.js';
import { testConfig } from '../test/helpers/context.js';
import { freshBenchDatabase, report, round, timed } from './lib.js';
import { bareRollupAggregate } from './rollup-baseline.js';

const fullSize = process.argv.includes('--full');
const tenants = Number(process.env.BENCH_TENANTS ?? (fullSize ? 5 : 2));
const students = Number(process.env.BENCH_STUDENTS ?? (fullSize ? 11_000 : 3_000));
const days = Number(process.env.BENCH_DAYS ?? 182);
const today = '2026-11-20'; // a Friday: the "new school day" below

const database = await freshBenchDatabase('rollups');
const { db } = database;
const context = (jobId: string) => ({
  db,
  log: silentLogger,
  clock: { now: () => new Date(`${today}T23:00:00Z`) },
  config: testConfig(),
  signal: new AbortController().signal,
  jobId,
  attempt: 1,
  progress: async () => {},
  enqueue: async (_kind: string, _payload: unknown, options?: { jobId?: string }) => options?.jobId ?? 'x',
});
function sumSteps(results: { stepMs: Record<string, number> }[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const result of results)
    for (const [name, ms] of Object.entries(result.stepMs)) total[name] = (total[name] ?? 0) + ms;
  return total;
}

const rollup = (payload: unknown, jobId: string) =>
  attendanceRollup.run(parsePayload(attendanceRollup, payload), context(jobId));

try {
  const seeded = await generateSchoolData(db, { seed: 1, tenants, students, days, auditRows: 100, today });
  const rows = seeded.rows.attendance ?? 0;
  await sql`VACUUM ANALYZE attendance`.execute(db);

  // The baseline: one bare aggregate over the same rows, the status counts per tenant, student and month.
  const bareQuery = bareRollupAggregate;
  await bareQuery.execute(db); // warm the cache for both sides
  const bare = await timed(() => bareQuery.execute(db));
  const full = await timed(() => rollup({ full: true }, 'bench-full'));
  const rewrite = await timed(() => rollup({ full: true }, 'bench-full-again'));

  // The nightly case: one new school day of marks for every student.
  const newDay = await sql`
    INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status)
    SELECT tenant_id, id, ${today}::date, 0,
           CASE WHEN hashint4(hashtext(id::text)) % 10 = 0 THEN 'absent' ELSE 'present' END
    FROM students`.execute(db);
  const newDayRows = Number(newDay.numAffectedRows ?? 0n);
  const incremental = await timed(() => rollup({}, 'bench-incremental'));

  // Late corrections: 0.1% of the year's absences turned excused, scattered over most past days.
  const corrected = await sql`
    UPDATE attendance SET status = 'excused'
    WHERE (tenant_id, student_id, attendance_date, period) IN (
      SELECT tenant_id, student_id, attendance_date, period FROM attendance TABLESAMPLE SYSTEM (0.1)
      WHERE status = 'absent' AND attendance_date < ${today}::date - 30)`.execute(db);
  const correctedRows = Number(corrected.numAffectedRows ?? 0n);
  const corrections = await timed(() => rollup({}, 'bench-corrections'));

  const views: Record<string, unknown> = {};
  for (const view of DASHBOARD_VIEWS) {
    const { rows: def } = await sql<{ def: string }>`
      SELECT pg_get_viewdef(${`mv_${view}`}::regclass) AS def`.execute(db);
    const definition = def[0]!.def.replace(/;\s*$/, '');
    // The baseline materialises the defining query's rows (a count(*) would let the planner
    // drop joins whose columns it never reads), which is the work a plain REFRESH does.
    const materialise = () =>
      db.connection().execute(async (conn) => {
        await sql.raw(`CREATE TEMP TABLE bench_view AS ${definition}`).execute(conn);
        await sql`DROP TABLE bench_view`.execute(conn);
      });
    await materialise();
    const query = await timed(materialise);
    const refreshed = await timed(() => refreshView(db, view));
    // ratio: the REFRESH ... CONCURRENTLY statement alone (refreshView's own measurement) against
    // the defining query; callRatio: the whole refreshView call, with its lock and bookkeeping
    // round trips, which weigh on views that take a few milliseconds.
    const statementMs = refreshed.value.refreshed ? refreshed.value.ms : Number.NaN;
    views[view] = {
      queryMs: round(query.ms, 0),
      refreshMs: statementMs,
      ratio: round(statementMs / query.ms),
      callMs: round(refreshed.ms, 0),
      callRatio: round(refreshed.ms / query.ms),
    };
  }

  report('rollups', {
    attendanceRows: rows,
    tenants,
    studentsPerTenant: students,
    bareAggregateMs: round(bare.ms, 0),
    fullRollupMs: round(full.ms, 0),
    ratioFullToBare: round(full.ms / bare.ms),
    fullStepMs: sumSteps(full.value.tenants),
    secondFullRunMs: round(rewrite.ms, 0),
    secondFullRunWrites: rewrite.value.tenants.reduce(
      (n, t) => n + Object.values(t.counts).reduce((a, b) => a + b, 0),
      0,
    ),
    newDayRows,
    newDayShare: round(newDayRows / rows, 4),
    incrementalMs: round(incremental.ms, 0),
    ratioIncrementalToFull: round(incremental.ms / full.ms, 3),
    ratioIncrementalToSecondFull: round(incremental.ms / rewrite.ms, 3),
    incrementalStepMs: sumSteps(incremental.value.tenants),
    correctedRows,
    correctedStudentDays: corrections.value.tenants.reduce((n, t) => n + t.claimed, 0),
    incrementalAfterCorrectionsMs: round(corrections.ms, 0),
    ratioCorrectionsToFull: round(corrections.ms / full.ms, 3),
    correctionsStepMs: sumSteps(corrections.value.tenants),
    views,
    goals: 'full/bare <= 1.5, incremental/full <= 0.03, refresh/query <= 2',
  });
} finally {
  await database.close();
}
