// Throughput of trivial jobs through the engine (registry, payload validation, metrics, batched
// run record in PostgreSQL, logger at info) against a bare BullMQ worker on the same Redis, in the
// same run, both at concurrency 50. Jobs are added up front (addBulk) so the figure is processing
// throughput. Rounds alternate which side goes first; the figure is the median paired ratio.
// Goal: engine / bare >= 0.8.
//   npm run bench:engine              a warm-up, then 4 rounds of 5,000 jobs per side
//   npm run bench:engine -- --full    the same with 50,000 jobs a round
//   add --no-history-write            an experiment, not a setting: run rows are built, batched and
//                                     serialised as always but nothing reaches PostgreSQL (COPY
//                                     text goes to a sink, upserts to kysely's DummyDriver), so the
//                                     ratio shows what PostgreSQL's share costs
// It also prints each side's CPU per job (Node, Redis, PostgreSQL; bench/cpu.ts).
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { Queue, Worker } from 'bullmq';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import type pg from 'pg';
import { z } from 'zod';
import { systemClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import type { Db } from '../core/db.js';
import { createLogger, silentLogger } from '../core/logger.js';
import { createRedis, type Redis } from '../core/redis.js';
import { defineJob } from '../jobs/define-job.js';
import { resolveJobSettings } from '../workers/job-settings.js';
import { createEnqueuer, defaultJobOptions } from '../workers/queues.js';
import { RunHistory } from '../workers/run-history.js';
import { startWorkers } from '../workers/worker.js';
import { type CpuProbe, cpuPerJob, cpuProbe } from './cpu.js';
import { freshBenchDatabase, report, round } from './lib.js';

const full = process.argv.includes('--full');
const writeHistory = !process.argv.includes('--no-history-write');
const JOBS = full ? 50_000 : 5_000;
const ROUNDS = 4;
const WARM_UP_JOBS = 5_000;
const CONCURRENCY = 50;
const prefix = `bench-${randomUUID().slice(0, 8)}`;

const noop = defineJob({
  name: 'bench-noop',
  description: 'does nothing, to measure the engine around it',
  payload: z.object({ i: z.number().int(), tenantId: z.uuid() }),
  queue: { concurrency: CONCURRENCY },
  async run({ i }) {
    return { i };
  },
});

const config = loadConfig({
  ...process.env,
  QUEUE_PREFIX: prefix,
  DATABASE_URL: 'postgres://unused@127.0.0.1/unused',
});
const jobOptions = defaultJobOptions(resolveJobSettings(noop, config), config);
const TENANT = '00000000-0000-4000-8000-000000000001';
const data = (i: number) => ({ i, tenantId: TENANT });

async function fill(redis: Redis, name: string, jobs: number): Promise<void> {
  const queue = new Queue(name, { connection: redis, prefix });
  for (let start = 0; start < jobs; start += 1000) {
    const size = Math.min(1000, jobs - start);
    await queue.addBulk(
      Array.from({ length: size }, (_, k) => ({ name, data: data(start + k), opts: jobOptions })),
    );
  }
  await queue.close();
}

function untilCount(worker: Worker, count: number): Promise<void> {
  let done = 0;
  return new Promise((resolve) =>
    worker.on('completed', () => {
      if (++done === count) resolve();
    }),
  );
}

/** One side's run: jobs per second, and CPU per job (counted until its work is all written). */
interface Side {
  rate: number;
  cpu: CpuProbe;
}

// One queue for every bare round, as the engine has one per kind: both then run with a full
// completed set, trimmed by retention on every job (a fresh queue skips that for its first 1,000).
const BARE_QUEUE = `bare-${randomUUID().slice(0, 6)}`;

async function bare(redis: Redis, jobs = JOBS): Promise<Side> {
  const name = BARE_QUEUE;
  await fill(redis, name, jobs);
  const before = await cpuProbe(redis);
  const started = performance.now();
  const worker = new Worker(name, async (job) => ({ i: job.data.i }), {
    connection: redis,
    prefix,
    concurrency: CONCURRENCY,
  });
  await untilCount(worker, jobs);
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  return { rate: jobs / seconds, cpu: cpuPerJob(before, await cpuProbe(redis), jobs) };
}

async function engine(
  redis: Redis,
  db: Awaited<ReturnType<typeof freshBenchDatabase>>,
  jobs = JOBS,
): Promise<Side> {
  await fill(redis, noop.name, jobs);
  // The production logger at info (a success is a debug line; failures would log), to /dev/null.
  const log = createLogger({
    level: 'info',
    destination: createWriteStream('/dev/null'),
  });
  const history = new RunHistory(writeHistory ? db : unwrittenHistory, log, {
    flushMs: config.RUN_HISTORY_FLUSH_MS,
    batch: config.RUN_HISTORY_BATCH,
  });
  const enqueuer = createEnqueuer(redis, config, { jobs: [noop] });
  const before = await cpuProbe(redis);
  const started = performance.now();
  const pool = await startWorkers({
    db: db.db,
    config,
    clock: systemClock,
    log,
    history,
    enqueue: enqueuer.enqueue,
    redis,
    jobs: [noop],
  });
  await untilCount(pool.workers[0]!, jobs);
  const seconds = (performance.now() - started) / 1000;
  await pool.close(30_000); // flushes run history
  const cpu = cpuPerJob(before, await cpuProbe(redis), jobs);
  await enqueuer.close();
  return { rate: jobs / seconds, cpu };
}

function medianCpu(sides: Side[]): CpuProbe {
  const median = (key: keyof CpuProbe) => {
    const values = sides.map((side) => side.cpu[key]).sort((a, b) => a - b);
    return (values[(values.length - 1) >> 1]! + values[values.length >> 1]!) / 2;
  };
  return { node: median('node'), redis: median('redis'), postgres: median('postgres') };
}

/**
 * For --no-history-write: upserts are compiled as for PostgreSQL and sent nowhere; COPY text is
 * built and streamed into a sink.
 */
const unwrittenHistory = {
  db: new Kysely<never>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  }) as unknown as Db,
  pool: {
    connect: async () => ({
      query: () => new Writable({ write: (_chunk, _encoding, done) => done() }),
      release() {},
    }),
  } as unknown as pg.Pool,
};

const db = await freshBenchDatabase('engine', 8);
const redis = createRedis(config.REDIS_URL, silentLogger, 'bench-engine');
try {
  // An unmeasured warm-up of each side first: otherwise the first round also times the JIT
  // compiling whichever code runs first (the engine's far more than bare BullMQ's).
  await bare(redis, WARM_UP_JOBS);
  await engine(redis, db, WARM_UP_JOBS);
  await sql`TRUNCATE job_runs`.execute(db.db);
  const bareSides: Side[] = [];
  const engineSides: Side[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which side goes first, so a warming or cooling machine favours neither.
    if (round % 2 === 0) {
      bareSides.push(await bare(redis));
      engineSides.push(await engine(redis, db));
    } else {
      engineSides.push(await engine(redis, db));
      bareSides.push(await bare(redis));
    }
    process.stderr.write(
      `round ${round + 1}: bare ${Math.round(bareSides.at(-1)!.rate)} jobs/s, engine ${Math.round(engineSides.at(-1)!.rate)} jobs/s\n`,
    );
  }
  const bareRates = bareSides.map((side) => side.rate);
  const engineRates = engineSides.map((side) => side.rate);
  const { count } = await db.db
    .selectFrom('job_runs')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('status', '=', 'completed')
    .executeTakeFirstOrThrow();
  // Each round pairs the two sides under the same machine load; the median pair ratio is the
  // figure (a shared, busy machine swings both sides by 2x between rounds).
  const pairRatios = engineRates.map((rate, index) => rate / bareRates[index]!).sort((a, b) => a - b);
  const median = (pairRatios[(pairRatios.length - 1) >> 1]! + pairRatios[pairRatios.length >> 1]!) / 2;
  const bestBare = Math.max(...bareRates);
  const bestEngine = Math.max(...engineRates);
  report('engine', {
    jobs: JOBS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    historyWritten: writeHistory,
    bareJobsPerSecond: Math.round(bestBare),
    engineJobsPerSecond: Math.round(bestEngine),
    ratio: round(median),
    roundRatios: pairRatios.map((value) => round(value)),
    // Microseconds of CPU per job, median of the rounds: throughput on 2 cores follows the total.
    cpuPerJobMicroseconds: { bare: medianCpu(bareSides), engine: medianCpu(engineSides) },
    runRecordsWritten: Number(count),
  });
} finally {
  const keys = await redis.keys(`${prefix}:*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  redis.disconnect();
  await db.close();
}
