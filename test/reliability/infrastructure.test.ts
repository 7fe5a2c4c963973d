// Infrastructure faults (issue 9, item 2), with real worker processes: the job's PostgreSQL
// backend killed mid-job, PostgreSQL or Redis unreachable when the worker starts, and Redis restarted
// under running workers. Outcomes are counted by side effects in PostgreSQL.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis } from '../../core/redis.js';
import type { Enqueuer } from '../../workers/queues.js';
import { ADMIN_URL, type TestDatabase } from '../helpers/postgres.js';
import { effectJob, effectOf, effects } from './fixtures/effect-jobs.js';
import { LONG, recordFigure } from './fixtures/figures.js';
import { type Harness, openHarness } from './fixtures/harness.js';
import { privateRedis } from './fixtures/private-redis.js';
import { freePort, type Proc, startWorker, until } from './fixtures/processes.js';

let database: TestDatabase;
let config: Config;
let enqueuer: Enqueuer;
const processes: Proc[] = [];
const cleanups: (() => Promise<void>)[] = [];

let harness: Harness;

beforeAll(async () => {
  harness = await openHarness('infra-test', { poolSize: 3, processes });
  ({ database, config, enqueuer } = harness);
});

afterAll(async () => {
  // Workers first, then the private Redis and relays they used, then the rest.
  for (const proc of processes) await proc.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await harness?.close();
});

function worker(env: Record<string, string> = {}): Proc {
  const proc = startWorker({ DATABASE_URL: database.url, QUEUE_PREFIX: config.QUEUE_PREFIX, ...env });
  processes.push(proc);
  return proc;
}

const runsOf = (kind: string, jobId: string) =>
  database.db
    .selectFrom('job_runs')
    .selectAll()
    .where('kind', '=', kind)
    .where('job_id', '=', jobId)
    .orderBy('attempt')
    .execute();

/** A TCP relay to the real PostgreSQL, started late to play a database that comes up after the worker. */
function relayTo(target: URL, port: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('infrastructure faults', () => {
  it('a job whose PostgreSQL backend is terminated mid-job fails, retries after its backoff and then succeeds, with nothing half-written', async () => {
    const proc = worker();
    await proc.waitFor(/worker ready/);
    const jobId = await enqueuer.enqueue('rel-pg-slow', { seconds: 20 });
    const marker = `rel-pg-slow ${jobId}`;
    const backend = await until(async () => {
      const { rows } = await sql<{ pid: number }>`
        SELECT pid FROM pg_stat_activity WHERE datname = ${database.name} AND state = 'active'
          AND query LIKE ${`%${marker} */%`} AND pid <> pg_backend_pid()`.execute(database.db);
      return rows[0]?.pid;
    }, 'the job to be sleeping in PostgreSQL');
    // The first attempt already inserted its effect row, uncommitted: it must vanish with the backend.
    const { rows } = await sql<{ ok: boolean }>`SELECT pg_terminate_backend(${backend}) AS ok`.execute(
      database.db,
    );
    expect(rows[0]!.ok).toBe(true);

    const done = await until(async () => effectOf(database.db, 'rel-pg-slow', jobId), 'the retry to succeed');
    expect(done).toMatchObject({ runs: 1, attempts: [2] });
    const runs = await until(async () => {
      const found = await runsOf('rel-pg-slow', jobId);
      return found.length === 2 && found[1]!.status === 'completed' ? found : undefined;
    }, 'run history of both attempts');
    expect(runs.map((run) => [run.attempt, run.status])).toEqual([
      [1, 'failed'],
      [2, 'completed'],
    ]);
    expect(runs[0]!.error).toMatch(/terminat/i);
    // The retry waited for its backoff (500 ms for the first retry of rel-pg-slow).
    expect(runs[1]!.started_at.getTime() - runs[0]!.finished_at!.getTime()).toBeGreaterThanOrEqual(450);
    expect(proc.running()).toBe(true);
    expect(await proc.kill('SIGTERM')).toBe(0);
    recordFigure('fault-pg-terminate', { jobs: 1, survived: 1, attemptsToSucceed: 2 });
  });

  it('a worker started while PostgreSQL is unreachable waits with a clear log line, does not exit, and works once it is up', async () => {
    const port = await freePort();
    const url = new URL(database.url);
    // A password in the URL must never reach the log.
    const unreachable = `postgres://postgres:pw-${port}-secret@127.0.0.1:${port}${url.pathname}`;
    const proc = worker({ DATABASE_URL: unreachable });
    await proc.waitFor(/waiting for PostgreSQL: cannot reach PostgreSQL at/, { times: 3 });
    expect(proc.running()).toBe(true);
    expect(proc.output()).toContain(`127.0.0.1:${port}`);
    expect(proc.output()).not.toContain(`pw-${port}-secret`);

    await relayTo(new URL(ADMIN_URL), port);
    await proc.waitFor(/worker ready/, { timeoutMs: 60_000 });
    const jobId = await enqueuer.enqueue('rel-effect', {});
    const done = await until(async () => effectOf(database.db, 'rel-effect', jobId), 'the job');
    expect(done.runs).toBe(1);
    expect(await proc.kill('SIGTERM')).toBe(0);
    expect(proc.output()).not.toContain(`pw-${port}-secret`);
    recordFigure('fault-pg-unreachable-at-start', {
      waitedWithoutExit: true,
      jobsAfterwards: 1,
      survived: 1,
    });
  });

  it('a worker started while Redis is down waits with a clear log line, does not exit, and works once it is up', async () => {
    const server = await privateRedis();
    cleanups.push(() => server.destroy());
    const proc = worker({ REDIS_URL: server.url });
    await proc.waitFor(/waiting for Redis: cannot reach Redis at/, { times: 3 });
    expect(proc.running()).toBe(true);

    await server.start();
    await proc.waitFor(/worker ready/, { timeoutMs: 60_000 });
    const producer = createRedis(server.url, silentLogger, 'producer-late-redis');
    cleanups.push(async () => producer.disconnect());
    const queue = new Queue(effectJob.name, { connection: producer, prefix: config.QUEUE_PREFIX });
    await queue.add('rel-effect', {}, { jobId: 'after-late-redis' });
    const done = await until(async () => effectOf(database.db, 'rel-effect', 'after-late-redis'), 'the job');
    expect(done.runs).toBe(1);
    await queue.close();
    expect(await proc.kill('SIGTERM')).toBe(0);
    recordFigure('fault-redis-unreachable-at-start', {
      waitedWithoutExit: true,
      jobsAfterwards: 1,
      survived: 1,
    });
  });

  it('workers reconnect after a Redis restart and process the jobs queued before and during it', {
    timeout: LONG ? 300_000 : 90_000,
  }, async () => {
    const server = await privateRedis();
    cleanups.push(() => server.destroy());
    await server.start();
    const perPhase = LONG ? 500 : 60;
    const env = { REDIS_URL: server.url, JOB_REL_EFFECT_CONCURRENCY: '5', WORKER_LOCK_DURATION_MS: '30000' };
    const phaseEffects = async () =>
      (await effects(database.db, 'rel-effect')).filter((row) => /^(before|during)-/.test(row.job_id));
    const workers = [worker(env), worker(env)];
    await Promise.all(workers.map((proc) => proc.waitFor(/worker ready/)));

    const producer = createRedis(server.url, silentLogger, 'producer');
    cleanups.push(async () => producer.disconnect());
    const queue = new Queue(effectJob.name, { connection: producer, prefix: config.QUEUE_PREFIX });
    queue.on('error', () => {});
    const before = await queue.addBulk(
      Array.from({ length: perPhase }, (_, i) => ({
        name: 'rel-effect',
        data: { sleepMs: 50 },
        opts: { jobId: `before-${i}`, attempts: 5 },
      })),
    );
    expect(before).toHaveLength(perPhase);
    // Stop Redis while the workers are busy with the first batch.
    await until(async () => (await phaseEffects()).length > 0, 'the first jobs to run');
    await server.stop();
    await Promise.all(workers.map((proc) => proc.waitFor(/Redis connection problem/)));
    // Jobs a producer adds while Redis is down wait in its client and land once Redis is back.
    const during = Promise.all(
      Array.from({ length: perPhase }, (_, i) =>
        queue.add('rel-effect', { sleepMs: 10 }, { jobId: `during-${i}`, attempts: 5 }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(workers.every((proc) => proc.running())).toBe(true);
    await server.start();
    await during;

    const rows = await until(
      async () => {
        const found = await phaseEffects();
        return found.length >= 2 * perPhase ? found : undefined;
      },
      'every job queued before and during the restart',
      90_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const final = await phaseEffects();
    const ids = final.map((row) => row.job_id);
    expect(ids).toHaveLength(2 * perPhase);
    const twice = final.filter((row) => row.runs > 1);
    expect(twice).toEqual([]);
    expect(rows.length).toBeGreaterThanOrEqual(2 * perPhase);
    await queue.close();
    const codes = await Promise.all(workers.map((proc) => proc.kill('SIGTERM')));
    expect(codes).toEqual([0, 0]);
    recordFigure(LONG ? 'fault-redis-restart-long' : 'fault-redis-restart', {
      jobs: 2 * perPhase,
      survived: ids.length,
      duplicated: twice.length,
    });
  });
});
