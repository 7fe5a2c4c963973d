// Crash per job kind (issue 9, item 1): every shipped job kind is run twice on identical seeded
// databases: once cleanly by a worker process, once by a worker process that is SIGKILLed in the
// middle of the job, followed by a fresh worker that recovers it. The crashed run's outcome must
// equal the clean one (every table and materialized view compared, see fixtures/snapshot.ts) and
// run history must show the killed attempt and the retry.
//
// "In the middle": the clean run tells which tables the job writes; in the crashed run the test
// holds an exclusive lock on them, so the job has read its input and is waiting to write its
// results when its worker is killed. The killed worker's backend then runs whatever statement it
// had sent once the lock is released, as a real crash would leave it; idempotent jobs absorb that.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis, type Redis } from '../../core/redis.js';
import { requestExport } from '../../jobs/exports/create.js';
import { jobRegistry } from '../../jobs/registry.js';
import { createEnqueuer, type Enqueuer } from '../../workers/queues.js';
import { type SmtpSink, startSmtpSink } from '../digests/smtp-sink.js';
import { dropPrefix, testPrefix } from '../engine/fixtures/engine.js';
import { testConfig } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';
import { reliabilityJobs } from './fixtures/effect-jobs.js';
import { recordFigure } from './fixtures/figures.js';
import { type Proc, startWorker, until } from './fixtures/processes.js';
import { changedTables, differences, rowDifferences, type Snapshot, snapshot } from './fixtures/snapshot.js';

interface KindSpec {
  kind: string;
  /** The payload, after any set-up the job needs on that side (an export request). */
  payload(
    tenants: { a: string; b: string },
    target: Side,
  ): Promise<Record<string, unknown>> | Record<string, unknown>;
}

// Payloads as an operator or the scheduler would send them. Kinds not (yet) in jobs/registry.ts
// are left out automatically. attendance-digest-send is crash-tested through attendance-digest's
// fan-out of sends (inline here) and by test/digests.
const SPECS: KindSpec[] = [
  {
    kind: 'export',
    async payload({ a }, target) {
      const record = await requestExport(target.database.db, {
        tenantId: a,
        request: {
          template: 'attendance-report',
          format: 'csv',
          filters: { from: '2026-02-16', to: '2026-03-16' },
        },
        config: target.config,
        now: new Date(),
      });
      return { exportId: record.id, tenantId: a };
    },
  },
  { kind: 'attendance-digest', payload: ({ a }) => ({ tenantId: a, from: '2026-03-09', to: '2026-03-13' }) },
  { kind: 'attendance-rollup', payload: () => ({ full: true }) },
  { kind: 'mv-refresh', payload: () => ({}) },
  { kind: 'invoice-reconciliation', payload: () => ({ full: true }) },
  { kind: 'partition-rotation', payload: () => ({}) },
  { kind: 'audit-cleanup', payload: () => ({}) },
];
const present = SPECS.filter((spec) => jobRegistry.some((job) => job.name === spec.kind));
const kinds = [...jobRegistry, ...reliabilityJobs];

interface Side {
  database: TestDatabase;
  config: Config;
  enqueuer: Enqueuer;
  exportDir: string;
  sink: SmtpSink;
  worker?: Proc;
}

const SIGNING_SECRET = 'reliability-crash-signing-secret-0123456789';

let redis: Redis;
let tenants: { a: string; b: string };
let clean: Side;
let crash: Side;
const survived: string[] = [];

async function side(): Promise<Side> {
  const database = await createTestDatabase({ poolSize: 3 });
  const exportDir = await mkdtemp(path.join(tmpdir(), 'rel-exports-'));
  const sink = await startSmtpSink();
  const config = testConfig({
    QUEUE_PREFIX: testPrefix(),
    EXPORT_DIR: exportDir,
    SIGNING_SECRET,
    SMTP_URL: sink.url,
  });
  return { database, config, exportDir, sink, enqueuer: createEnqueuer(redis, config, { jobs: kinds }) };
}

/** Files under a side's export directory (relative paths), complete or not. */
async function exportFiles(target: Side): Promise<string[]> {
  const entries = await readdir(target.exportDir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

/** Emails a side's sink received, by recipient. */
function mailCounts(target: Side): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of target.sink.messages)
    for (const to of message.to) counts.set(to, (counts.get(to) ?? 0) + 1);
  return counts;
}

function startSideWorker(target: Side): Proc {
  target.worker = startWorker({
    DATABASE_URL: target.database.url,
    QUEUE_PREFIX: target.config.QUEUE_PREFIX,
    EXPORT_DIR: target.exportDir,
    SIGNING_SECRET,
    SMTP_URL: target.sink.url,
    WORKER_LOCK_DURATION_MS: '1500',
    WORKER_STALLED_INTERVAL_MS: '500',
    JOB_BACKOFF_MS: '100',
  });
  return target.worker;
}

beforeAll(async () => {
  if (present.length === 0) return;
  redis = createRedis('redis://127.0.0.1:6379', silentLogger, 'crash-kinds');
  [clean, crash] = await Promise.all([side(), side()]);
  const [seeded] = await Promise.all([seedSchools(clean.database.db), seedSchools(crash.database.db)]);
  const [a, b] = seeded.tenants.map((tenant) => tenant.id) as [string, string];
  tenants = { a, b };
  await Promise.all([startSideWorker(clean), startSideWorker(crash)].map((w) => w.waitFor(/worker ready/)));
}, 180_000);

afterAll(async () => {
  for (const target of [clean, crash]) {
    if (!target) continue;
    await target.worker?.kill('SIGKILL');
    await target.enqueuer.close();
    await dropPrefix(
      redis,
      target.config.QUEUE_PREFIX,
      kinds.map((job) => job.name),
    );
    await target.database.drop();
    await target.sink.close();
    await rm(target.exportDir, { recursive: true, force: true });
  }
  redis?.disconnect();
  if (present.length)
    recordFigure('fault-sigkill-per-kind', {
      kinds: present.length,
      survived: survived.length,
      equalToClean: survived,
    });
});

/** Every queue of the side is drained: chained jobs (rollup -> mv-refresh) have run too. */
async function drained(target: Side): Promise<boolean> {
  for (const job of kinds) {
    const queue = new Queue(job.name, { connection: redis, prefix: target.config.QUEUE_PREFIX });
    const counts = await queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
    );
    await queue.close();
    if (Object.values(counts).some((n) => n > 0)) return false;
  }
  return true;
}

async function finished(target: Side, kind: string, jobId: string): Promise<void> {
  await until(
    async () => {
      const state = await target.enqueuer.queue(kind).getJobState(jobId);
      if (state === 'failed') {
        const job = await target.enqueuer.queue(kind).getJob(jobId);
        throw new Error(`${kind} failed: ${job?.failedReason}\n${target.worker?.output().slice(-3000)}`);
      }
      return state === 'completed' && (await drained(target));
    },
    `${kind} to complete`,
    90_000,
    200,
  );
}

describe.skipIf(present.length === 0)('crash: SIGKILL mid-job, for every job kind', () => {
  it('starts from identical databases', async () => {
    expect(differences(await snapshot(clean.database.db), await snapshot(crash.database.db))).toEqual([]);
  });

  for (const spec of present) {
    it(`${spec.kind}: the recovered run equals a clean run, and history shows the retry`, {
      timeout: 150_000,
    }, async () => {
      const cleanPayload = await spec.payload(tenants, clean);
      const payload = await spec.payload(tenants, crash);
      const before: Snapshot = await snapshot(clean.database.db);
      const mailsBefore = crash.sink.messages.length;
      const cleanId = await clean.enqueuer.enqueue(spec.kind, cleanPayload);
      await finished(clean, spec.kind, cleanId);
      const expected = await snapshot(clean.database.db);
      const written = changedTables(before, expected);

      // The crashed run: hold the tables the job writes (all of them if it wrote nothing here).
      const locker = new pg.Client({ connectionString: crash.database.url });
      await locker.connect();
      try {
        // Only tables can be locked; materialized views are still compared.
        const { rows: lockable } = await locker.query<{ name: string }>(
          "SELECT relname AS name FROM pg_class WHERE relname = ANY($1) AND relkind = 'r' AND relnamespace = 'public'::regnamespace",
          [written.length ? written : [...expected.keys()]],
        );
        const targets = lockable.map((row) => row.name);
        await locker.query('BEGIN');
        await locker.query(
          `LOCK TABLE ${targets.map((t) => pg.escapeIdentifier(t)).join(', ')} IN ACCESS EXCLUSIVE MODE`,
        );
        const jobId = await crash.enqueuer.enqueue(spec.kind, payload);
        await until(
          async () => {
            const { rows } = await sql<{ n: number }>`
            SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = ${crash.database.name} AND application_name = 'worker' AND wait_event_type = 'Lock'`.execute(
              crash.database.db,
            );
            if ((await crash.enqueuer.queue(spec.kind).getJobState(jobId)) === 'completed') {
              throw new Error(
                `${spec.kind} completed without touching the locked tables ${targets.join(', ')}`,
              );
            }
            // Run history is written in batches (RUN_HISTORY_FLUSH_MS): kill only once the running
            // attempt is on record, or a kill inside the flush window leaves no trace of it.
            const recorded = await crash.database.db
              .selectFrom('job_runs')
              .select('attempt')
              .where('kind', '=', spec.kind)
              .where('job_id', '=', jobId)
              .executeTakeFirst();
            return rows[0]!.n > 0 && recorded !== undefined;
          },
          `${spec.kind} to reach its writes`,
          60_000,
        );
        const killed = crash.worker!;
        await killed.kill('SIGKILL');
        await locker.query('ROLLBACK');
        const recovering = startSideWorker(crash);
        await finished(crash, spec.kind, jobId);
        expect(recovering.output()).toMatch(/job stalled/);

        const differing = differences(expected, await snapshot(crash.database.db));
        const detail = await Promise.all(
          differing.map(async (entry) => {
            const table = entry.split(' ')[0]!;
            return { table, ...(await rowDifferences(clean.database.db, crash.database.db, table)) };
          }),
        );
        expect(detail).toEqual([]);
        // Files and emails, outside the database: the same files, none partial; nobody mailed twice.
        expect(await exportFiles(crash)).toHaveLength((await exportFiles(clean)).length);
        expect((await exportFiles(crash)).filter((name) => /tmp|partial|\.part$/i.test(name))).toEqual([]);
        expect(crash.sink.messages.length).toBe(clean.sink.messages.length);
        expect([...mailCounts(crash)].filter(([, n]) => n > 1)).toEqual([]);
        if (spec.kind === 'attendance-digest')
          expect(crash.sink.messages.length).toBeGreaterThan(mailsBefore);
        const history = await until(async () => {
          const runs = await crash.database.db
            .selectFrom('job_runs')
            .select(['attempt', 'status', 'worker'])
            .where('kind', '=', spec.kind)
            .where('job_id', '=', jobId)
            .orderBy('attempt')
            .execute();
          return runs.some((run) => run.status === 'completed') ? runs : undefined;
        }, 'run history');
        expect(history.map((run) => [run.attempt, run.status, run.worker?.split(':').pop()])).toEqual([
          [1, 'running', String(killed.pid)],
          [2, 'completed', String(recovering.pid)],
        ]);
        survived.push(spec.kind);
      } finally {
        await locker.end().catch(() => {});
      }
    });
  }
});
