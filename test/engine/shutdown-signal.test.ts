// ctx.signal at the shutdown deadline: a job still running when SHUTDOWN_TIMEOUT_MS passes sees
// its signal aborted (the pool's one signal for all its jobs, not a per-job BullMQ controller),
// stops, and its attempt is recorded as cancelled.
import { EventEmitter, once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../jobs/define-job.js';
import { createTestEngine, type TestEngine } from './fixtures/engine.js';

const running = new EventEmitter();

const waitsForShutdown = defineJob({
  name: 'test-waits-for-shutdown',
  description: 'runs until its signal is aborted',
  payload: z.object({}),
  async run(_payload, ctx) {
    running.emit('started', ctx.jobId);
    await new Promise<void>((_resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(new Error('stopped: worker shutting down')), {
        once: true,
      });
    });
  },
});

let engine: TestEngine;
beforeAll(async () => {
  engine = await createTestEngine([waitsForShutdown]);
});
afterAll(() => engine?.close());

describe('shutdown deadline', () => {
  it('aborts the signal of a job still running at the deadline and records the attempt as cancelled', async () => {
    const started = once(running, 'started');
    const jobId = await engine.enqueuer.enqueue(waitsForShutdown.name, {});
    expect(await started).toEqual([jobId]);

    const closing = performance.now();
    await engine.pool.close(300);
    // Closed by the deadline, not by the job finishing on its own (it never would).
    expect(performance.now() - closing).toBeGreaterThanOrEqual(300);

    const runs = await engine.database.db
      .selectFrom('job_runs')
      .select(['status', 'error'])
      .where('kind', '=', waitsForShutdown.name)
      .where('job_id', '=', jobId)
      .execute();
    expect(runs).toEqual([{ status: 'cancelled', error: 'stopped: worker shutting down' }]);
  });
});
