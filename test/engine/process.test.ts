// Real worker processes (the CLI `worker` command with the test kinds registered), stopped with
// SIGTERM and killed with SIGKILL in the middle of a job.
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { createRedis, type Redis } from '../../core/redis.js';
import { createEnqueuer, type Enqueuer } from '../../workers/queues.js';
import { testConfig } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { freePort, until } from '../reliability/fixtures/processes.js';
import { dropPrefix, testPrefix } from './fixtures/engine.js';
import { runFixtureCli, startRole } from './fixtures/spawn.js';
import { testJobs } from './fixtures/test-jobs.js';

let database: TestDatabase;
let redis: Redis;
let enqueuer: Enqueuer;
let events: QueueEvents;
const prefix = testPrefix();
const config = testConfig({ QUEUE_PREFIX: prefix });
// BullMQ's stalled check is rate-limited per queue by a key that lives stalledInterval; every
// worker in this file uses the same short interval so one does not delay the next one's check.
const base = { QUEUE_PREFIX: prefix, WORKER_STALLED_INTERVAL_MS: '500' };

beforeAll(async () => {
  database = await createTestDatabase();
  redis = createRedis(config.REDIS_URL, silentLogger, 'process-test');
  enqueuer = createEnqueuer(redis, config, { jobs: testJobs });
  events = new QueueEvents('test-sleep', { connection: redis.duplicate(), prefix });
  await events.waitUntilReady();
});

afterAll(async () => {
  await events?.close();
  await enqueuer?.close();
  await dropPrefix(
    redis,
    prefix,
    testJobs.map((job) => job.name),
  );
  redis?.disconnect();
  await database?.drop();
});

async function waitForState(jobId: string, wanted: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const queue = enqueuer.queue('test-sleep');
  while ((await queue.getJobState(jobId)) !== wanted) {
    if (Date.now() > deadline) throw new Error(`job ${jobId} never became ${wanted}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('worker processes', () => {
  it('on SIGTERM stops taking jobs, lets the running job finish, and exits 0', async () => {
    const env = { ...base, DATABASE_URL: database.url, SHUTDOWN_TIMEOUT_MS: '20000', LOG_LEVEL: 'debug' };
    const worker = startRole(['worker'], env);
    await worker.waitFor(/worker ready/);

    const running = await enqueuer.enqueue('test-sleep', { ms: 1500 });
    await waitForState(running, 'active');
    worker.child.kill('SIGTERM');
    await worker.waitFor(/letting running ones finish/);
    const afterStop = await enqueuer.enqueue('test-sleep', { ms: 0 });

    expect(await worker.exited, worker.output()).toBe(0);
    const job = await enqueuer.queue('test-sleep').getJob(running);
    expect(await job!.getState()).toBe('completed');
    expect(job!.returnvalue).toMatchObject({ slept: 1500, worker: worker.child.pid });
    // Not run by the stopping worker: still queued (or handed straight back) for another worker.
    const left = await enqueuer.queue('test-sleep').getJob(afterStop);
    expect(['waiting', 'delayed']).toContain(await left!.getState());
    expect(left!.attemptsMade).toBe(0);
    // The job's log lines carry its id, kind and attempt.
    expect(worker.output()).toMatch(
      new RegExp(`"jobId":"${running}","kind":"test-sleep".*"msg":"job completed"`),
    );
    await enqueuer.queue('test-sleep').remove(afterStop);

    // The run history was flushed before exit.
    const run = await database.db
      .selectFrom('job_runs')
      .selectAll()
      .where('kind', '=', 'test-sleep')
      .where('job_id', '=', running)
      .executeTakeFirstOrThrow();
    expect(run.status).toBe('completed');
  });

  it('recovers a job whose worker was SIGKILLed mid-job: another worker completes it', async () => {
    // Short locks so the stalled job is noticed in about a second instead of thirty.
    const env = {
      ...base,
      DATABASE_URL: database.url,
      WORKER_LOCK_DURATION_MS: '1500',
    };
    const first = startRole(['worker'], env);
    await first.waitFor(/worker ready/);
    const jobId = await enqueuer.enqueue('test-sleep', { ms: 2000 });
    await waitForState(jobId, 'active');
    first.child.kill('SIGKILL');
    await first.exited;

    const second = startRole(['worker'], env);
    try {
      await second.waitFor(/worker ready/);
      const job = await enqueuer.queue('test-sleep').getJob(jobId);
      const result = await job!.waitUntilFinished(events, 30_000);
      expect(result).toMatchObject({ slept: 2000, worker: second.child.pid });
      expect(second.output()).toMatch(/job stalled/);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  });

  it('with WORKER_METRICS_PORT a worker serves its own run counts at /metrics', async () => {
    const port = await freePort();
    const env = { ...base, DATABASE_URL: database.url, WORKER_METRICS_PORT: String(port) };
    const worker = startRole(['worker'], env);
    try {
      await worker.waitFor(/worker ready/);
      const jobId = await enqueuer.enqueue('test-sleep', { ms: 0 });
      await waitForState(jobId, 'completed');
      const url = `http://127.0.0.1:${port}`;
      const scrape = async () => (await fetch(`${url}/metrics`)).text();
      // Counted once the job's completion is recorded, a moment after BullMQ marks it complete.
      const completed = /job_runs_total\{kind="test-sleep",outcome="completed"\} 1\b/;
      const text = await until(
        async () => {
          const scraped = await scrape();
          return completed.test(scraped) && scraped;
        },
        'a completed test-sleep run in /metrics',
        5_000,
      );
      expect(text).toMatch(
        /school_engine_job_duration_seconds_count\{kind="test-sleep",outcome="completed"\} 1\b/,
      );
      expect((await fetch(`${url}/admin/queues`)).status).toBe(404);
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    }
  });

  it('enqueue --wait prints the outcome once a worker has run the job', async () => {
    const env = { ...base, DATABASE_URL: database.url };
    const worker = startRole(['worker'], env);
    try {
      await worker.waitFor(/worker ready/);
      const result = await runFixtureCli(
        ['enqueue', 'test-echo', '--payload', '{"message":"waited"}', '--wait'],
        env,
      );
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        kind: 'test-echo',
        state: 'completed',
        result: { echoed: 'waited' },
      });
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
