// The worker role: one BullMQ Worker per registered job kind, each with its own concurrency and
// rate limit. Stalled-job recovery (lockDuration / stalledInterval) hands a job whose worker died
// (SIGKILL, power loss) to another worker; handlers are idempotent, so the second run is safe.
import { Worker } from 'bullmq';
import type { Redis } from '../core/redis.js';
import type { JobDefinition } from '../jobs/define-job.js';
import { jobRegistry } from '../jobs/registry.js';
import { createProcessor, type ExecuteDeps } from './execute.js';
import { resolveJobSettings } from './job-settings.js';
import { closeWithin } from './shutdown.js';

export interface WorkerPool {
  workers: Worker[];
  /** Stop taking jobs, let running ones finish within timeoutMs, flush run history. */
  close(timeoutMs: number): Promise<void>;
}

export async function startWorkers(
  deps: ExecuteDeps & { redis: Redis; jobs?: readonly JobDefinition[] },
): Promise<WorkerPool> {
  const jobs = deps.jobs ?? jobRegistry;
  const { config } = deps;
  let stopping = false;
  // Every job's ctx.signal: aborted for all running jobs when the shutdown deadline passes.
  const deadline = new AbortController();
  const shutdownState = { stopping: () => stopping, signal: deadline.signal };
  const workers = jobs.map((definition) => {
    const settings = resolveJobSettings(definition, config);
    const worker = new Worker(definition.name, createProcessor(definition, deps, shutdownState), {
      connection: deps.redis,
      prefix: config.QUEUE_PREFIX,
      concurrency: settings.concurrency,
      ...(settings.limiter ? { limiter: settings.limiter } : {}),
      lockDuration: config.WORKER_LOCK_DURATION_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: 2,
    });
    worker.on('error', (error) =>
      deps.log.warn({ kind: definition.name, err: { message: error.message } }, 'worker connection problem'),
    );
    worker.on('stalled', (jobId) =>
      deps.log.warn({ jobId, kind: definition.name }, 'job stalled (its worker died?); it will run again'),
    );
    return worker;
  });
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  deps.log.info(
    { kinds: jobs.map((job) => job.name), prefix: config.QUEUE_PREFIX },
    jobs.length ? 'worker ready' : 'worker ready, but no job kinds are registered yet',
  );
  return {
    workers,
    async close(timeoutMs) {
      stopping = true;
      await closeWithin(
        timeoutMs,
        async () => {
          await Promise.all(workers.map((worker) => worker.close()));
        },
        async () => {
          deadline.abort(new Error('worker shutting down'));
          await Promise.all(workers.map((worker) => worker.close(true)));
        },
        deps.log,
      );
      // Only after every job has stopped: handlers may hold pooled connections (SMTP) until then.
      await Promise.all(jobs.map((job) => job.release?.()));
      await deps.history.close();
    },
  };
}
