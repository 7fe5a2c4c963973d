// Benchmark (issue 5): partition rotation against pg_partman's run_maintenance() on identical
// copies of one database, and audit cleanup against seed 003's cleanup_old_audit_logs() (one
// DELETE), each with a concurrent writer recording its worst insert latency.
//   npm run bench:partitions            # default size, a few minutes
//   npm run bench:partitions -- --full  # 5 million expired audit rows, larger schools
// Needs the pg_partman extension files (Debian: postgresql-15-partman); benchmark only.
import { sql } from 'kysely';
import pg from 'pg';
import { createDatabase } from '../core/db.js';
import { silentLogger } from '../core/logger.js';
import { addMonths, ensureMonthlyPartitions, monthStart } from '../core/partitions.js';
import { auditCleanup } from '../jobs/audit-cleanup.js';
import { parsePayload } from '../jobs/define-job.js';
import { partitionRotation } from '../jobs/partition-rotation.js';
import { generateSchoolData } from '../seed/generate.js';
import { benchDatabaseUrl, freshBenchDatabase, report, round, timed } from './lib.js';
import { benchContext, copyDatabase, longReport, startWriter } from './partitions-support.js';

const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const full = process.argv.includes('--full');
const size = {
  tenants: 2,
  students: full ? 2000 : 300,
  auditRowsPerTenant: full ? 1_000_000 : 100_000,
  expiredAuditRows: full ? 5_000_000 : 1_000_000,
};
const now = new Date();
const AUDIT_ENV = { AUDIT_RETENTION_DAYS: '730' };

function open(name: string) {
  const url = benchDatabaseUrl(name);
  return { url, ...createDatabase(url, { log: silentLogger, max: 4 }) };
}

async function rotateOurs(
  db: ReturnType<typeof open>,
  premakeMonths: number,
  env: Record<string, string> = AUDIT_ENV,
) {
  const ctx = benchContext(db.db, db.url, env);
  return partitionRotation.run(parsePayload(partitionRotation, { premakeMonths }), ctx);
}

async function partmanMaintenance(db: ReturnType<typeof open>, premake: number): Promise<string | null> {
  await sql`UPDATE partman.part_config SET premake = ${premake}`.execute(db.db);
  try {
    await sql`SELECT partman.run_maintenance(p_jobmon := false)`.execute(db.db);
    return null;
  } catch (error) {
    return (error as Error).message.split('\n')[0]!;
  }
}

/** Run `work` while a writer inserts; returns the work's time and the writer's worst latency. */
async function withWriter<T>(url: string, work: () => Promise<T>) {
  const writer = await startWriter(url);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const run = await timed(work);
  const written = await writer.stop();
  return { ms: run.ms, value: run.value, worstInsertMs: written.worstMs, inserts: written.inserts };
}

/** pg_partman adopts a copy's partitions: the same months, premake and audit retention as ours. */
async function adoptWithPartman(db: ReturnType<typeof open>, oldest: { audit: string; attendance: string }) {
  // pg_partman: same partitions (it adopts ours by name), its own default partitions, monthly,
  // same premake, audit retention 730 days with the tables dropped, attendance kept.
  for (const table of ['attendance', 'audit_logs']) {
    await sql
      .raw(`ALTER TABLE ${table} DETACH PARTITION ${table}_default; DROP TABLE ${table}_default`)
      .execute(db.db);
  }
  await sql`CREATE SCHEMA partman`.execute(db.db);
  await sql`CREATE EXTENSION pg_partman SCHEMA partman`.execute(db.db);
  await sql`SELECT partman.create_parent('public.audit_logs', 'created_at', 'native', 'monthly', p_premake := 3,
              p_start_partition := ${oldest.audit}, p_jobmon := false)`.execute(db.db);
  await sql`SELECT partman.create_parent('public.attendance', 'attendance_date', 'native', 'monthly', p_premake := 3,
              p_start_partition := ${oldest.attendance}, p_jobmon := false)`.execute(db.db);
  // create_parent returns before creating the default partition when every month already exists
  // (pg_partman 4.7.2 adopting a set); give it back so both copies match.
  for (const table of ['attendance', 'audit_logs']) {
    await sql.raw(`CREATE TABLE IF NOT EXISTS ${table}_default PARTITION OF ${table} DEFAULT`).execute(db.db);
  }
  await sql`UPDATE partman.part_config SET infinite_time_partitions = true`.execute(db.db);
  await sql`UPDATE partman.part_config SET retention = '730 days', retention_keep_table = false
            WHERE parent_table = 'public.audit_logs'`.execute(db.db);
}

async function rotationBench() {
  // One school database: 30 months of audit logs and 12 months of attendance, partitions up to
  // three months ahead; then identical copies, two run by ours and two handed to pg_partman.
  const seeded = await freshBenchDatabase('partitions_ours');
  const seedToday = addMonths(monthStart(now), -1);
  await generateSchoolData(seeded.db, {
    seed: 5,
    tenants: size.tenants,
    students: size.students,
    days: 250,
    auditRows: size.auditRowsPerTenant,
    today: seedToday.toISOString().slice(0, 10),
  });
  await ensureMonthlyPartitions(seeded.db, 'attendance', seedToday, addMonths(monthStart(now), 3));
  await ensureMonthlyPartitions(seeded.db, 'audit_logs', seedToday, addMonths(monthStart(now), 3));
  await sql`VACUUM ANALYZE`.execute(seeded.db);
  const oldest = await sql<{ audit: string; attendance: string }>`
    SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-01') AS audit,
           to_char(min(attendance_date), 'YYYY-MM-01') AS attendance
    FROM (SELECT min(created_at) AS created_at FROM audit_logs) a, (SELECT min(attendance_date) AS attendance_date FROM attendance) b`.execute(
    seeded.db,
  );
  await seeded.close();
  await copyDatabase(ADMIN_URL, 'bench_partitions_ours', 'bench_partitions_partman');
  // Second copies of each side, so the nightly run is timed in the order ours, pg_partman,
  // pg_partman, ours: whichever side runs first or last on the machine, both get one of each.
  await copyDatabase(ADMIN_URL, 'bench_partitions_ours', 'bench_partitions_partman2');
  // Kept untouched, for profiling a run by hand; and a copy for counting from statistics.
  await copyDatabase(ADMIN_URL, 'bench_partitions_ours', 'bench_partitions_pristine');
  await copyDatabase(ADMIN_URL, 'bench_partitions_ours', 'bench_partitions_estimate');
  await copyDatabase(ADMIN_URL, 'bench_partitions_ours', 'bench_partitions_ours2');

  const ours = open('bench_partitions_ours');
  const partman = open('bench_partitions_partman');
  const estimate = open('bench_partitions_estimate');
  const ours2 = open('bench_partitions_ours2');
  const partman2 = open('bench_partitions_partman2');
  try {
    for (const copy of [partman, partman2]) await adoptWithPartman(copy, oldest.rows[0]!);

    // Every copy's pooled connection reads both parents' catalogs once before anything is timed, as
    // a long-lived worker's connection has: pg_partman's came warm from create_parent above, ours
    // came cold, which alone made ours 1.1-1.9x pg_partman's time in alternating runs without a
    // writer (0.91-1.07 with both warm). The same statement on every copy; it changes no data.
    for (const copy of [ours, ours2, estimate, partman, partman2]) {
      await sql`EXPLAIN SELECT 1 FROM audit_logs UNION ALL SELECT 1 FROM attendance`.execute(copy.db);
    }
    // The copies just written (CREATE DATABASE ... TEMPLATE, WAL-logged) are flushed before anything
    // is timed, as in the cleanup benchmark: otherwise the first timed run (ours) pays for their
    // writeback.
    await sql`CHECKPOINT`.execute(ours.db);
    // 0. The writer alone: its worst latency on this machine with no maintenance running.
    const idle = await withWriter(ours.url, () => new Promise((resolve) => setTimeout(resolve, 2000)));
    // 1. The nightly run: one new month per table (premake 4), audit months past retention dropped.
    const oursRun = await withWriter(ours.url, () => rotateOurs(ours, 4));
    const partmanRun = await withWriter(partman.url, () => partmanMaintenance(partman, 4));
    const partmanRun2 = await withWriter(partman2.url, () => partmanMaintenance(partman2, 4));
    const oursRun2 = await withWriter(ours2.url, () => rotateOurs(ours2, 4));
    const estimateRun = await withWriter(estimate.url, () =>
      rotateOurs(estimate, 4, { ...AUDIT_ENV, AUDIT_EXACT_DROP_COUNTS: 'false' }),
    );
    const oursMs = (oursRun.ms + oursRun2.ms) / 2;
    const partmanMs = (partmanRun.ms + partmanRun2.ms) / 2;
    // 2. Right after: nothing to do.
    const oursAgain = await timed(() => rotateOurs(ours, 4));
    const partmanAgain = await timed(() => partmanMaintenance(partman, 4));
    // 3. A row with a date nobody expected sits in the default partition of a month that is now
    // due (eight months ahead: no partition exists for it in either copy).
    const stray = addMonths(monthStart(now), 8).toISOString();
    for (const db of [ours, partman]) {
      await sql`INSERT INTO audit_logs (tenant_id, created_at, action, resource_type)
                SELECT id, ${stray}::timestamptz + interval '1 day', 'update', 'stray' FROM tenants`.execute(
        db.db,
      );
    }
    const oursStray = await rotateOurs(ours, 8);
    const partmanStray = await partmanMaintenance(partman, 8);
    // pg_partman stays stuck on that row until someone moves it by hand; do so, and catch up.
    await sql`DELETE FROM audit_logs_default WHERE resource_type = 'stray'`.execute(partman.db);
    const partmanAfterFix = await partmanMaintenance(partman, 8);
    // 4. A long report (5 s) reads audit_logs while retention is shortened by a month, so a month
    // must be detached (ACCESS EXCLUSIVE on the parent) while the report holds it.
    await sql`UPDATE partman.part_config SET retention = '700 days' WHERE parent_table = 'public.audit_logs'`.execute(
      partman.db,
    );
    const oursBlocked = await (async () => {
      const report = await longReport(ours.url, 5000);
      const run = await withWriter(ours.url, () => rotateOurs(ours, 8, { AUDIT_RETENTION_DAYS: '700' }));
      await report.done;
      return run;
    })();
    const partmanBlocked = await (async () => {
      const report = await longReport(partman.url, 5000);
      const run = await withWriter(partman.url, () => partmanMaintenance(partman, 8));
      await report.done;
      return run;
    })();

    const retired = (oursRun.value.tables.audit_logs?.retired ?? []).length;
    report('partitions.rotation', {
      size: full ? 'full' : 'default',
      // Means of two copies each, timed ours, pg_partman, pg_partman, ours.
      ourMs: round(oursMs),
      partmanMs: round(partmanMs),
      ratioOursToPartman: round(oursMs / partmanMs, 3),
      runsMs: {
        ours: [round(oursRun.ms), round(oursRun2.ms)],
        partman: [round(partmanRun.ms), round(partmanRun2.ms)],
      },
      ourMsEstimatedCounts: round(estimateRun.ms),
      ratioEstimatedCountsToPartman: round(estimateRun.ms / partmanMs, 3),
      worstInsertMsIdle: round(idle.worstInsertMs),
      auditMonthsDropped: retired,
      monthsCreated:
        (oursRun.value.tables.attendance?.created.length ?? 0) +
        (oursRun.value.tables.audit_logs?.created.length ?? 0),
      partmanError: partmanRun.value,
      noOpOurMs: round(oursAgain.ms),
      noOpPartmanMs: round(partmanAgain.ms),
      worstInsertMsDuringOurs: round(Math.max(oursRun.worstInsertMs, oursRun2.worstInsertMs)),
      worstInsertMsDuringPartman: round(Math.max(partmanRun.worstInsertMs, partmanRun2.worstInsertMs)),
      strayRowsMovedByOurs: oursStray.rowsMoved,
      partmanWithStrayRow: partmanStray ?? 'ok',
      partmanAfterManualFix: partmanAfterFix ?? 'ok',
      longReport: {
        ourMs: round(oursBlocked.ms),
        ourDeferred: oursBlocked.value.deferred.length,
        ourMonthsDropped: oursBlocked.value.tables.audit_logs?.retired.length ?? 0,
        worstInsertMsDuringOurs: round(oursBlocked.worstInsertMs),
        partmanMs: round(partmanBlocked.ms),
        worstInsertMsDuringPartman: round(partmanBlocked.worstInsertMs),
      },
    });
  } finally {
    await ours.close();
    await partman.close();
    await estimate.close();
    await ours2.close();
    await partman2.close();
  }
}

async function cleanupBench() {
  const seeded = await freshBenchDatabase('cleanup_ours');
  // Two schools; expired rows spread over the twelve months that ended 25 months ago, recent rows
  // over the last 23 months (one school keeps one year only, for the batched path).
  await generateSchoolData(seeded.db, {
    seed: 6,
    tenants: 2,
    students: 100,
    days: 20,
    auditRows: 0,
    today: now.toISOString().slice(0, 10),
  });
  const first = addMonths(monthStart(now), -37);
  await ensureMonthlyPartitions(seeded.db, 'audit_logs', first, addMonths(monthStart(now), 3));
  const recentRows = Math.round(size.expiredAuditRows / 5);
  await sql`
    INSERT INTO audit_logs (tenant_id, created_at, action, resource_type, user_agent, new_values)
    SELECT t.id, ${first}::timestamptz + (g % 365) * interval '1 day' + (g % 86400) * interval '1 second',
           'update', 'attendance', 'Mozilla/5.0 (school portal)', '{"status": "present"}'
    FROM generate_series(1, ${size.expiredAuditRows / 2}::int) g, tenants t`.execute(seeded.db);
  await sql`
    INSERT INTO audit_logs (tenant_id, created_at, action, resource_type, user_agent, new_values)
    SELECT t.id, now() - interval '700 days' + (g % 690) * interval '1 day', 'update', 'attendance',
           'Mozilla/5.0 (school portal)', '{"status": "present"}'
    FROM generate_series(1, ${recentRows / 2}::int) g, tenants t`.execute(seeded.db);
  await sql`VACUUM ANALYZE audit_logs`.execute(seeded.db);
  await seeded.close();
  await copyDatabase(ADMIN_URL, 'bench_cleanup_ours', 'bench_cleanup_baseline');
  await copyDatabase(ADMIN_URL, 'bench_cleanup_ours', 'bench_cleanup_estimate');
  await copyDatabase(ADMIN_URL, 'bench_cleanup_ours', 'bench_cleanup_floor');
  const ours = open('bench_cleanup_ours');
  const baseline = open('bench_cleanup_baseline');
  const estimate = open('bench_cleanup_estimate');
  const floor = open('bench_cleanup_floor');
  try {
    // Counted on the baseline's copy: the scan brings its expired months into the caches, which
    // can only help the DELETE; our copies stay as cold as two-year-old months are in production.
    const expired = await sql<{ n: number }>`
      SELECT count(*) AS n FROM audit_logs WHERE created_at < now() - interval '2 years'`.execute(
      baseline.db,
    );
    const cleanupCtx = () => benchContext(ours.db, ours.url, AUDIT_ENV);
    // The three copies just written (CREATE DATABASE ... TEMPLATE, WAL-logged) are flushed before
    // anything is timed, so the first measured run does not pay for the copies' writeback.
    await sql`CHECKPOINT`.execute(ours.db);
    const idle = await withWriter(ours.url, () => new Promise((resolve) => setTimeout(resolve, 2000)));
    const oursRun = await withWriter(ours.url, () =>
      auditCleanup.run(parsePayload(auditCleanup, {}), cleanupCtx()),
    );
    // The floor: a bare DROP TABLE of exactly the months our run dropped, on an identical copy,
    // with the same writer. Whatever a cleanup does around it, the files of those months must go,
    // and most of a drop is the kernel freeing their blocks at commit: DELETE / this is the most
    // any cleanup that drops these months can reach against the DELETE.
    const droppedMonths = oursRun.value.fastPath.partitionsDropped;
    const floorRun = await withWriter(floor.url, () =>
      sql.raw(`DROP TABLE ${droppedMonths.map((name) => `"${name}"`).join(', ')}`).execute(floor.db),
    );
    // The same run counting the dropped months from planner statistics instead of a scan.
    const estimateRun = await withWriter(estimate.url, () =>
      auditCleanup.run(
        parsePayload(auditCleanup, {}),
        benchContext(estimate.db, estimate.url, { ...AUDIT_ENV, AUDIT_EXACT_DROP_COUNTS: 'false' }),
      ),
    );
    // Seed 003 as it was: no month-count triggers, so its DELETE does not pay for them.
    await setMonthCountTriggers(baseline.db, false);
    const baselineRun = await withWriter(baseline.url, () =>
      sql`SELECT cleanup_old_audit_logs()`.execute(baseline.db),
    );
    // The DELETE leaves every row behind as a dead tuple; VACUUM is what makes the space reusable,
    // which dropping partitions does at once. Both end states compared.
    const baselineVacuum = await timed(() => sql`VACUUM audit_logs`.execute(baseline.db));

    // The batched path: one school shortens its retention to one year.
    await sql`UPDATE tenants SET settings = '{"audit": {"retentionDays": 365}}'
              WHERE id = (SELECT id FROM tenants ORDER BY slug LIMIT 1)`.execute(ours.db);
    const batched = await withWriter(ours.url, () =>
      auditCleanup.run(parsePayload(auditCleanup, {}), cleanupCtx()),
    );
    const single = await withWriter(baseline.url, () =>
      sql`DELETE FROM audit_logs WHERE tenant_id = (SELECT id FROM tenants ORDER BY slug LIMIT 1)
            AND created_at < now() - interval '365 days'`.execute(baseline.db),
    );
    const insertCost = await monthCountInsertCost(baseline.url, baseline.db);
    report('partitions.cleanup', {
      size: full ? 'full' : 'default',
      expiredRows: expired.rows[0]!.n,
      ourMs: round(oursRun.ms),
      baselineOneDeleteMs: round(baselineRun.ms),
      speedup: round(baselineRun.ms / oursRun.ms, 1),
      bareDropMs: round(floorRun.ms),
      ratioOursToBareDrop: round(oursRun.ms / floorRun.ms, 2),
      speedupCeilingVsDelete: round(baselineRun.ms / floorRun.ms, 1),
      worstInsertMsDuringBareDrop: round(floorRun.worstInsertMs),
      baselineVacuumMs: round(baselineVacuum.ms),
      speedupVsDeletePlusVacuum: round((baselineRun.ms + baselineVacuum.ms) / oursRun.ms, 1),
      speedupEstimatedVsDeletePlusVacuum: round((baselineRun.ms + baselineVacuum.ms) / estimateRun.ms, 1),
      estimatedCountsMs: round(estimateRun.ms),
      speedupEstimatedCounts: round(baselineRun.ms / estimateRun.ms, 1),
      worstInsertMsDuringEstimated: round(estimateRun.worstInsertMs),
      partitionsDropped: oursRun.value.fastPath.partitionsDropped.length,
      rowsInDroppedPartitions: oursRun.value.fastPath.rows,
      rowsDeletedInBatches: oursRun.value.auditRowsDeleted,
      worstInsertMsIdle: round(idle.worstInsertMs),
      worstInsertMsDuringOurs: round(oursRun.worstInsertMs),
      worstInsertMsDuringBaseline: round(baselineRun.worstInsertMs),
      monthCountTriggers: insertCost,
      batchedPath: {
        rows: batched.value.auditRowsDeleted,
        ourMs: round(batched.ms),
        rowsPerSecond: Math.round(batched.value.auditRowsDeleted / (batched.ms / 1000)),
        oneDeleteMs: round(single.ms),
        ratioOursToOneDelete: round(batched.ms / single.ms, 2),
        worstInsertMsDuringOurs: round(batched.worstInsertMs),
        worstInsertMsDuringOneDelete: round(single.worstInsertMs),
      },
    });
  } finally {
    await ours.close();
    await baseline.close();
    await estimate.close();
    await floor.close();
  }
}

const MONTH_COUNT_TRIGGERS = ['insert', 'delete', 'update'].map((op) => `audit_log_month_counts_${op}`);

async function setMonthCountTriggers(db: ReturnType<typeof open>['db'], enabled: boolean) {
  for (const trigger of MONTH_COUNT_TRIGGERS) {
    await sql
      .raw(`ALTER TABLE audit_logs ${enabled ? 'ENABLE ALWAYS' : 'DISABLE'} TRIGGER ${trigger}`)
      .execute(db);
  }
}

/**
 * What the month-count triggers (sql/0031) cost a writer: single-row audit inserts, each its own
 * transaction as a school's requests make them, timed in alternating rounds with the triggers
 * enabled and disabled.
 */
async function monthCountInsertCost(url: string, db: ReturnType<typeof open>['db']) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ id: string }>('SELECT id FROM tenants ORDER BY slug LIMIT 1');
  const times = { with: [] as number[], without: [] as number[] };
  try {
    for (let round = 0; round < 6; round++) {
      const enabled = round % 2 === 0;
      await setMonthCountTriggers(db, enabled);
      for (let i = 0; i < 1000; i++) {
        const started = performance.now();
        await client.query(
          `INSERT INTO audit_logs (tenant_id, action, resource_type) VALUES ($1, 'update', 'x')`,
          [rows[0]!.id],
        );
        (enabled ? times.with : times.without).push(performance.now() - started);
      }
    }
  } finally {
    await setMonthCountTriggers(db, true);
    await client.end();
  }
  const stats = (list: number[]) => {
    const sorted = [...list].sort((x, y) => x - y);
    return {
      meanMs: round(sorted.reduce((sum, x) => sum + x, 0) / sorted.length, 3),
      p99Ms: round(sorted[Math.floor(sorted.length * 0.99)]!, 3),
    };
  };
  const withTriggers = stats(times.with);
  const withoutTriggers = stats(times.without);
  return {
    singleRowInserts: times.with.length + times.without.length,
    withTriggers,
    withoutTriggers,
    meanOverheadMs: round(withTriggers.meanMs - withoutTriggers.meanMs, 3),
  };
}

const only = process.env.BENCH_ONLY;
if (only !== 'cleanup') await rotationBench();
if (only !== 'rotation') await cleanupBench();
