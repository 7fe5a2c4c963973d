// Running one job attempt, the same way for a queued job (worker) and `cli run` (in-process):
// validate the payload, build the JobContext with a child logger carrying job id, kind and
// tenant, run the handler, and record the attempt in run history and metrics.
import { hostname } from 'node:os';
import { DelayedError, type Job, type Processor, UnrecoverableError } from 'bullmq';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db.js';
import { errorMessage, isUnrecoverable } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { type JobContext, type JobDefinition, parsePayload } from '../jobs/define-job.js';
import { jobDurationSeconds, jobRunsTotal } from './metrics.js';
import type { EnqueueFn } from './queues.js';
import { redactPaths } from './redact.js';
import type { RunHistory } from './run-history.js';

export const WORKER_NAME = `${hostname()}:${process.pid}`;

export interface ExecuteDeps {
  db: Db;
  config: Config;
  clock: Clock;
  log: Logger;
  history: RunHistory;
  enqueue: EnqueueFn;
}

export interface Attempt {
  jobId: string;
  /** 1 for the first attempt. */
  attempt: number;
  payload: unknown;
  signal: AbortSignal;
  progress(value: number | Record<string, unknown>): Promise<void>;
}

function tenantOf(payload: unknown): string | undefined {
  const tenantId = (payload as { tenantId?: unknown } | null)?.tenantId;
  return typeof tenantId === 'string' ? tenantId : undefined;
}

/** Runs one attempt. Throws the handler's error (an InputError for a bad payload) after recording it. */
export async function executeJob(
  definition: JobDefinition,
  attempt: Attempt,
  deps: ExecuteDeps,
): Promise<unknown> {
  const tenantId = tenantOf(attempt.payload);
  const log = deps.log.child({
    jobId: attempt.jobId,
    kind: definition.name,
    tenantId,
    attempt: attempt.attempt,
  });
  const startedAt = deps.clock.now();
  const started = performance.now();
  const base = {
    jobId: attempt.jobId,
    kind: definition.name,
    tenantId: tenantId && /^[0-9a-f-]{36}$/i.test(tenantId) ? tenantId : null,
    attempt: attempt.attempt,
    payload: redactPaths(attempt.payload, definition.personalData),
    worker: WORKER_NAME,
    startedAt,
  };
  deps.history.record({ ...base, status: 'running' });
  try {
    const payload = parsePayload(definition, attempt.payload);
    const ctx: JobContext = {
      db: deps.db,
      log,
      clock: deps.clock,
      config: deps.config,
      progress: attempt.progress,
      signal: attempt.signal,
      jobId: attempt.jobId,
      attempt: attempt.attempt,
      enqueue: deps.enqueue,
    };
    log.debug('job started');
    const result = await definition.run(payload, ctx);
    const seconds = (performance.now() - started) / 1000;
    deps.history.record({ ...base, status: 'completed', result, finishedAt: deps.clock.now() });
    jobRunsTotal.inc({ kind: definition.name, outcome: 'completed' });
    jobDurationSeconds.observe({ kind: definition.name, outcome: 'completed' }, seconds);
    log.info({ durationMs: Math.round(seconds * 1000) }, 'job completed');
    return result;
  } catch (error) {
    const seconds = (performance.now() - started) / 1000;
    const outcome = isUnrecoverable(error) ? 'unrecoverable' : 'failed';
    const cancelled = attempt.signal.aborted;
    deps.history.record({
      ...base,
      status: cancelled ? 'cancelled' : 'failed',
      error: errorMessage(error),
      finishedAt: deps.clock.now(),
    });
    jobRunsTotal.inc({ kind: definition.name, outcome });
    jobDurationSeconds.observe({ kind: definition.name, outcome }, seconds);
    log.error(
      {
        durationMs: Math.round(seconds * 1000),
        err: { name: (error as Error)?.name, message: errorMessage(error) },
      },
      outcome === 'unrecoverable' ? 'job failed on bad input; not retried' : 'job failed; may be retried',
    );
    throw error;
  }
}

/**
 * The BullMQ processor for one kind. `shutdown` aborts every running job's signal when the
 * shutdown deadline passes, alongside BullMQ's own cancellation signal.
 */
export function createProcessor(
  definition: JobDefinition,
  deps: ExecuteDeps,
  shutdown: { stopping(): boolean; signal: AbortSignal },
): Processor {
  return async (job: Job, token?: string, signal?: AbortSignal) => {
    if (shutdown.stopping() && token) {
      // A job fetched in the instant between "stop" and the worker's blocking connection closing:
      // hand it straight back (no attempt used) for another worker instead of starting it now.
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    const combined = signal ? AbortSignal.any([signal, shutdown.signal]) : shutdown.signal;
    try {
      return await executeJob(
        definition,
        {
          jobId: job.id!,
          // attemptsMade counts failures only; a run cut off by SIGKILL (stalled, then started
          // again) counts in attemptsStarted, so the retry gets its own run-history row instead
          // of overwriting the killed attempt's (found by test/reliability/crash.test.ts).
          attempt: Math.max(job.attemptsMade + 1, job.attemptsStarted ?? 0),
          payload: job.data,
          signal: combined,
          progress: (value) => job.updateProgress(value),
        },
        deps,
      );
    } catch (error) {
      // InputError (bad payload, unknown tenant) will never succeed: fail now, no retries.
      if (isUnrecoverable(error)) throw new UnrecoverableError(errorMessage(error));
      throw error;
    }
  };
}
