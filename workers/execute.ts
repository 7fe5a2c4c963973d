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
  /** A failure of this attempt will not be retried. */
  lastAttempt: boolean;
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
  const bindings = { jobId: attempt.jobId, kind: definition.name, tenantId, attempt: attempt.attempt };
  // A pino child costs tens of microseconds (its bindings pass the redaction rules), as much as
  // the rest of the engine's overhead on a trivial job: create it only when the handler logs, and
  // write the engine's own lines with the same fields inline.
  let child: Logger | undefined;
  const jobLog = () => {
    child ??= deps.log.child(bindings);
    return child;
  };
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
      get log() {
        return jobLog();
      },
      clock: deps.clock,
      config: deps.config,
      progress: attempt.progress,
      signal: attempt.signal,
      jobId: attempt.jobId,
      attempt: attempt.attempt,
      lastAttempt: attempt.lastAttempt,
      enqueue: deps.enqueue,
    };
    deps.log.debug(bindings, 'job started');
    const result = await definition.run(payload, ctx);
    const seconds = (performance.now() - started) / 1000;
    deps.history.record({ ...base, status: 'completed', result, finishedAt: deps.clock.now() });
    jobRunsTotal.inc({ kind: definition.name, outcome: 'completed' });
    jobDurationSeconds.observe({ kind: definition.name, outcome: 'completed' }, seconds);
    // Debug, not info: at thousands of jobs a second a line per success costs more than the job
    // (every line passes the redaction rules). Successes are in job_runs and the metrics;
    // failures are logged at error below.
    deps.log.debug({ ...bindings, durationMs: Math.round(seconds * 1000) }, 'job completed');
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
    deps.log.error(
      {
        ...bindings,
        durationMs: Math.round(seconds * 1000),
        err: { name: (error as Error)?.name, message: errorMessage(error) },
      },
      outcome === 'unrecoverable' ? 'job failed on bad input; not retried' : 'job failed; may be retried',
    );
    throw error;
  }
}

/**
 * The BullMQ processor for one kind. Its three-argument form makes BullMQ hand each job an
 * AbortSignal, which the pool aborts for every running job when the shutdown deadline passes.
 */
export function createProcessor(
  definition: JobDefinition,
  deps: ExecuteDeps,
  shutdown: { stopping(): boolean },
): Processor {
  return async (job: Job, token?: string, signal?: AbortSignal) => {
    if (shutdown.stopping() && token) {
      // A job fetched in the instant between "stop" and the worker's blocking connection closing:
      // hand it straight back (no attempt used) for another worker instead of starting it now.
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    // BullMQ's per-job signal; the pool aborts it (worker.cancelAllJobs) at the shutdown deadline.
    const jobSignal = signal ?? new AbortController().signal;
    try {
      return await executeJob(
        definition,
        {
          jobId: job.id!,
          // attemptsMade counts failures only; a run cut off by SIGKILL (stalled, then started
          // again) counts in attemptsStarted, so the retry gets its own run-history row instead
          // of overwriting the killed attempt's (found by test/reliability/crash.test.ts).
          attempt: Math.max(job.attemptsMade + 1, job.attemptsStarted ?? 0),
          // BullMQ retries while failures (attemptsMade) stay below opts.attempts.
          lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
          payload: job.data,
          signal: jobSignal,
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
