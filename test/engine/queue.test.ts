import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.js';
import { InputError } from '../../core/errors.js';
import type { Engine } from '../../workers/engine.js';
import { metricsRegistry } from '../../workers/metrics.js';
import { runNightlyCycle } from '../../workers/nightly-cycle.js';
import { createTestEngine, type TestEngine } from './fixtures/engine.js';
import { echoJob, flakyJob, localMorningJob, nightlyJob, sleepJob } from './fixtures/test-jobs.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await createTestEngine([echoJob, sleepJob, flakyJob, nightlyJob, localMorningJob], {
    JOB_BACKOFF_MS: '10',
  });
});
afterAll(() => engine?.close());

// BullMQ numbers jobs per queue, so job id "1" exists in every kind's queue: runs are keyed by kind too.
const runsOf = (kind: string, jobId: string) =>
  engine.database.db
    .selectFrom('job_runs')
    .selectAll()
    .where('kind', '=', kind)
    .where('job_id', '=', jobId)
    .orderBy('attempt')
    .execute();

describe('queue wiring', () => {
  it('enqueues, processes, returns the value and records the run with personal data redacted', async () => {
    const events = await engine.events('test-echo');
    const tenantId = '00000000-0000-4000-8000-000000000001';
    const jobId = await engine.enqueuer.enqueue('test-echo', {
      message: 'hello',
      tenantId,
      email: 'parent@example.org',
    });
    const job = await engine.enqueuer.queue('test-echo').getJob(jobId);
    expect(await job!.waitUntilFinished(events, 20_000)).toEqual({ echoed: 'hello', attempt: 1 });
    await engine.history.flush();
    const [run, ...more] = await runsOf('test-echo', jobId);
    expect(more).toHaveLength(0);
    expect(run).toMatchObject({
      kind: 'test-echo',
      tenant_id: tenantId,
      attempt: 1,
      status: 'completed',
      error: null,
    });
    expect(run!.result).toEqual({ echoed: 'hello', attempt: 1 });
    expect(run!.payload).toEqual({ message: 'hello', tenantId, email: '[redacted]' });
    expect(run!.finished_at!.getTime()).toBeGreaterThanOrEqual(run!.started_at.getTime());

    const fresh = await engine.enqueuer.queue('test-echo').getJob(jobId);
    expect(fresh!.progress).toBe(50);
  });

  it('adds a job id once, however often it is enqueued', async () => {
    const first = await engine.enqueuer.enqueue(
      'test-sleep',
      { ms: 0 },
      { jobId: 'same-slot', delayMs: 60_000 },
    );
    const second = await engine.enqueuer.enqueue(
      'test-sleep',
      { ms: 0 },
      { jobId: 'same-slot', delayMs: 60_000 },
    );
    expect(second).toBe(first);
    expect(await engine.enqueuer.queue('test-sleep').getDelayedCount()).toBe(1);
  });

  it('refuses an unknown kind or a payload of the wrong shape before anything reaches Redis', async () => {
    await expect(engine.enqueuer.enqueue('no-such-kind', {})).rejects.toThrow(
      /unknown job kind "no-such-kind"/,
    );
    const bad = engine.enqueuer.enqueue('test-echo', { message: 42 });
    await expect(bad).rejects.toBeInstanceOf(InputError);
    await expect(bad).rejects.toThrow(/payload\.message/);
    expect(await engine.enqueuer.queue('test-echo').getWaitingCount()).toBe(0);
  });

  it('fails a queued payload of the wrong shape at once (one attempt) and keeps the worker running', async () => {
    const events = await engine.events('test-echo');
    // An old-shape job already in Redis (written before validation existed): added directly.
    const queue = new Queue('test-echo', { connection: engine.redis, prefix: engine.config.QUEUE_PREFIX });
    const bad = await queue.add('test-echo', { msg: 'old shape' }, { attempts: 5, backoff: 10 });
    await expect(bad.waitUntilFinished(events, 20_000)).rejects.toThrow(/payload\.message/);
    const failed = await queue.getJob(bad.id!);
    expect(await failed!.getState()).toBe('failed');
    expect(failed!.attemptsMade).toBe(1);
    await queue.close();

    const nextId = await engine.enqueuer.enqueue('test-echo', { message: 'still here' });
    const next = await engine.enqueuer.queue('test-echo').getJob(nextId);
    expect(await next!.waitUntilFinished(events, 20_000)).toMatchObject({ echoed: 'still here' });

    await engine.history.flush();
    const [run] = await runsOf('test-echo', bad.id!);
    expect(run).toMatchObject({ status: 'failed', attempt: 1 });
    expect(run!.error).toMatch(/payload\.message/);
  });

  it('retries infrastructure failures with backoff and records every attempt', async () => {
    const events = await engine.events('test-flaky');
    const jobId = await engine.enqueuer.enqueue('test-flaky', {});
    const job = await engine.enqueuer.queue('test-flaky').getJob(jobId);
    expect(await job!.waitUntilFinished(events, 20_000)).toEqual({ attempt: 2 });
    await engine.history.flush();
    const runs = await runsOf('test-flaky', jobId);
    expect(runs.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'completed'],
    ]);
    expect(runs[0]!.error).toMatch(/connection reset/);
  });

  it('exposes per-kind counts and durations to Prometheus', async () => {
    const text = await metricsRegistry.metrics();
    expect(text).toMatch(/school_engine_job_runs_total\{kind="test-echo",outcome="completed"\} [1-9]/);
    expect(text).toMatch(/school_engine_job_runs_total\{kind="test-echo",outcome="unrecoverable"\} 1/);
    expect(text).toMatch(/school_engine_job_duration_seconds_count\{kind="test-flaky",outcome="failed"\} 1/);
  });

  it('runs one nightly cycle on demand (the demo): every scheduled kind, per tenant where per-tenant', async () => {
    const tenantId = '00000000-0000-4000-8000-0000000000d1';
    await engine.database.db
      .insertInto('tenants')
      .values({ id: tenantId, slug: 'demo-school', name: 'Demo School', time_zone: 'Europe/Paris' })
      .execute();
    const outcomes = await runNightlyCycle({
      db: engine.database.db,
      config: engine.config,
      clock: systemClock,
      jobs: [echoJob, sleepJob, flakyJob, nightlyJob, localMorningJob],
      enqueue: engine.enqueuer.enqueue,
      enqueuer: engine.enqueuer,
    } as unknown as Engine);
    expect(
      outcomes.map(({ kind, tenantId: tenant, state, result }) => ({ kind, tenant, state, result })),
    ).toEqual([
      { kind: 'test-nightly', tenant: undefined, state: 'completed', result: { ok: true } },
      { kind: 'test-local', tenant: tenantId, state: 'completed', result: { tenantId } },
    ]);
  });
});
