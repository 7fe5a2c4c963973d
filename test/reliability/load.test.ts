// Load (issue 9, item 4): N trivial jobs through two real worker processes. Counted by their side
// effects in PostgreSQL (one row per job id, a second run would make runs = 2), not by BullMQ's
// counters: none lost, none processed twice. Afterwards the queue's Redis footprint must be
// bounded by the retention settings, not by N. N = 20,000 by default, 100,000 in the long run.
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis, type Redis } from '../../core/redis.js';
import { resolveJobSettings } from '../../workers/job-settings.js';
import { defaultJobOptions } from '../../workers/queues.js';
import { dropPrefix, testPrefix } from '../engine/fixtures/engine.js';
import { testConfig } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createEffectsTable, effectJob, reliabilityJobs } from './fixtures/effect-jobs.js';
import { LONG, recordFigure } from './fixtures/figures.js';
import { type Proc, startWorker, until } from './fixtures/processes.js';

const JOBS = Number(process.env.RELIABILITY_LOAD_JOBS ?? (LONG ? 100_000 : 20_000));
const KEEP_COMPLETED = 500;

let database: TestDatabase;
let redis: Redis;
let config: Config;
const workers: Proc[] = [];

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 2 });
  await createEffectsTable(database.db);
  config = testConfig({ QUEUE_PREFIX: testPrefix(), QUEUE_KEEP_COMPLETED: String(KEEP_COMPLETED) });
  redis = createRedis(config.REDIS_URL, silentLogger, 'load-test');
});

afterAll(async () => {
  for (const worker of workers) await worker.kill('SIGKILL');
  if (config)
    await dropPrefix(
      redis,
      config.QUEUE_PREFIX,
      reliabilityJobs.map((job) => job.name),
    );
  redis?.disconnect();
  await database?.drop();
});

/** Every key of the queue and what Redis says it costs. */
async function queueFootprint(prefix: string): Promise<{ keys: number; jobHashes: number; bytes: number }> {
  let cursor = '0';
  let keys = 0;
  let jobHashes = 0;
  let bytes = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      keys++;
      // Job hashes are <prefix>:<queue>:<id>; ids are numbers here.
      if (/:\d+$/.test(key)) jobHashes++;
      bytes += Number((await redis.memory('USAGE', key)) ?? 0);
    }
  } while (cursor !== '0');
  return { keys, jobHashes, bytes };
}

describe(`load: ${JOBS.toLocaleString('en')} jobs across two worker processes`, () => {
  it('processes every job exactly once and leaves Redis bounded by retention', {
    timeout: LONG ? 900_000 : 180_000,
  }, async () => {
    const env = {
      DATABASE_URL: database.url,
      QUEUE_PREFIX: config.QUEUE_PREFIX,
      QUEUE_KEEP_COMPLETED: String(KEEP_COMPLETED),
      JOB_REL_EFFECT_CONCURRENCY: '50',
      LOG_LEVEL: 'warn',
    };
    workers.push(startWorker({ ...env, LOG_LEVEL: 'info' }), startWorker({ ...env, LOG_LEVEL: 'info' }));
    await Promise.all(workers.map((worker) => worker.waitFor(/worker ready/)));

    const queue = new Queue(effectJob.name, { connection: redis, prefix: config.QUEUE_PREFIX });
    const options = defaultJobOptions(resolveJobSettings(effectJob, config), config);
    const started = performance.now();
    for (let from = 0; from < JOBS; from += 1000) {
      const size = Math.min(1000, JOBS - from);
      await queue.addBulk(
        Array.from({ length: size }, () => ({ name: effectJob.name, data: {}, opts: options })),
      );
    }
    const enqueuedSeconds = (performance.now() - started) / 1000;

    await until(
      async () => {
        const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM rel_effects`.execute(
          database.db,
        );
        return rows[0]!.n >= JOBS;
      },
      `${JOBS} side effects`,
      LONG ? 800_000 : 170_000,
      250,
    );
    const seconds = (performance.now() - started) / 1000;
    const jobsPerSecond = Math.round(JOBS / seconds);

    // Let late duplicates (if any) land before counting them.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { rows } = await sql<{
      jobs: number;
      runs: number;
      twice: number;
      workers: number;
    }>`SELECT count(*)::int AS jobs, sum(runs)::int AS runs, count(*) FILTER (WHERE runs > 1)::int AS twice,
         count(DISTINCT workers[1])::int AS workers FROM rel_effects`.execute(database.db);
    const counted = rows[0]!;
    expect(counted.jobs).toBe(JOBS); // none lost
    expect(counted.runs).toBe(JOBS); // none processed twice
    expect(counted.twice).toBe(0);
    expect(counted.workers).toBe(2); // both processes took a share

    // Run history is complete too (batched writes, flushed within RUN_HISTORY_FLUSH_MS).
    await until(async () => {
      const { rows: history } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM job_runs WHERE kind = 'rel-effect' AND status = 'completed'`.execute(
        database.db,
      );
      return history[0]!.n === JOBS;
    }, 'run history of every job');

    const footprint = await queueFootprint(config.QUEUE_PREFIX);
    const completedKept = await queue.getCompletedCount();
    expect(completedKept).toBeLessThanOrEqual(KEEP_COMPLETED);
    expect(footprint.jobHashes).toBeLessThanOrEqual(KEEP_COMPLETED);
    // Bounded by retention, not by N: the kept jobs plus BullMQ's capped event stream.
    expect(footprint.bytes).toBeLessThan(8 * 1024 * 1024);
    await queue.close();

    // Both stop gracefully.
    const codes = await Promise.all(workers.map((worker) => worker.kill('SIGTERM')));
    expect(codes).toEqual([0, 0]);

    recordFigure(LONG ? 'load-long' : 'load', {
      jobs: JOBS,
      workerProcesses: 2,
      concurrencyPerProcess: 50,
      seconds: Math.round(seconds * 10) / 10,
      enqueueSeconds: Math.round(enqueuedSeconds * 10) / 10,
      jobsPerSecond,
      lost: JOBS - counted.jobs,
      duplicated: counted.runs - counted.jobs,
      redisKeysAfter: footprint.keys,
      redisJobHashesAfter: footprint.jobHashes,
      redisBytesAfter: footprint.bytes,
      keepCompleted: KEEP_COMPLETED,
    });
  });
});
