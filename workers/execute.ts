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
import { isUuid } from '../core/tenant-scope.js';
import { type JobContext, type JobDefinition, parsePayload } from '../jobs/define-job.js';
import { jobRunMetrics } from './metrics.js';
import type { EnqueueFn } from './queues.js';
import { redactPaths } from './redact.js';
import type { RunHistory, RunRecord } from './run-history.js';

// Cut to job_runs.worker's varchar(200): a longer value would fail every history write.
export const WORKER_NAME = `${hostname()}:${process.pid}`.slice(-200);

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

/**
 * The handler's ctx. A class rather than an object literal with closures: at thousands of jobs a
 * second, per-job closures (each also renamed by tsx's keep-names helper) and a pino child logger
 * (tens of microseconds: its bindings pass the redaction rules) cost as much as the rest of the
 * engine's work on a trivial job. The child logger and the progress function are made only when
 * the handler asks for them.
 */
class AttemptContext implements JobContext {
  readonly db: Db;
  readonly clock: Clock;
  readonly config: Config;
  readonly signal: AbortSignal;
  readonly jobId: string;
  readonly attempt: number;
  readonly lastAttempt: boolean;
  readonly enqueue: EnqueueFn;
  readonly #attempt: Attempt;
  readonly #log: Logger;
  readonly #bindings: Record<string, unknown>;
  #child: Logger | undefined;

  constructor(attempt: Attempt, deps: ExecuteDeps, bindings: Record<string, unknown>) {
    this.db = deps.db;
    this.clock = deps.clock;
    this.config = deps.config;
    this.signal = attempt.signal;
    this.jobId = attempt.jobId;
    this.attempt = attempt.attempt;
    this.lastAttempt = attempt.lastAttempt;
    this.enqueue = deps.enqueue;
    this.#attempt = attempt;
    this.#log = deps.log;
    this.#bindings = bindings;
  }

  get log(): Logger {
    this.#child ??= this.#log.child(this.#bindings);
    return this.#child;
  }

  // A getter returning a bound function, so `const { progress } = ctx` keeps working.
  get progress(): JobContext['progress'] {
    const attempt = this.#attempt;
    return (value) => attempt.progress(value);
  }
}

/**
 * Runs one attempt. Throws the handler's error (an InputError for a bad payload) after recording
 * it; for a queued attempt an InputError becomes BullMQ's UnrecoverableError: it will never
 * succeed, so it fails now, without retries.
 */
export async function executeJob(
  definition: JobDefinition,
  attempt: Attempt,
  deps: ExecuteDeps,
  options: { queued?: boolean } = {},
): Promise<unknown> {
  const { log, history } = deps;
  const tenantId = tenantOf(attempt.payload);
  const bindings = { jobId: attempt.jobId, kind: definition.name, tenantId, attempt: attempt.attempt };
  const started = performance.now();
  // One object per attempt, handed to history at start and updated in place when it ends.
  const run: RunRecord = {
    jobId: attempt.jobId,
    kind: definition.name,
    // Only a well-formed UUID reaches the uuid column: a value PostgreSQL refuses would fail its
    // whole history batch on every retry. (A bad tenant id fails the job's own validation.)
    tenantId: tenantId && isUuid(tenantId) ? tenantId : null,
    attempt: attempt.attempt,
    status: 'running',
    payload: redactPaths(attempt.payload, definition.personalData),
    result: null,
    error: null,
    worker: WORKER_NAME,
    startedAt: deps.clock.now(),
    finishedAt: null,
  };
  history.start(run);
  // Success lines are debug, not info: at thousands of jobs a second a line per success costs more
  // than the job (every line passes the redaction rules). Successes are in job_runs and the
  // metrics; failures are logged at error below. Checked once, so no line's fields are built
  // for nothing.
  const debug = log.isLevelEnabled('debug');
  try {
    const payload = parsePayload(definition, attempt.payload);
    const ctx = new AttemptContext(attempt, deps, bindings);
    if (debug) log.debug(bindings, 'job started');
    const result = await definition.run(payload, ctx);
    const seconds = (performance.now() - started) / 1000;
    run.status = 'completed';
    run.result = result;
    run.finishedAt = deps.clock.now();
    history.finish(run);
    jobRunMetrics.record(definition.name, 'completed', seconds);
    if (debug) log.debug({ ...bindings, durationMs: Math.round(seconds * 1000) }, 'job completed');
    return result;
  } catch (error) {
    const seconds = (performance.now() - started) / 1000;
    const outcome = isUnrecoverable(error) ? 'unrecoverable' : 'failed';
    run.status = attempt.signal.aborted ? 'cancelled' : 'failed';
    run.error = errorMessage(error);
    run.finishedAt = deps.clock.now();
    history.finish(run);
    jobRunMetrics.record(definition.name, outcome, seconds);
    log.error(
      {
        ...bindings,
        durationMs: Math.round(seconds * 1000),
        err: { name: (error as Error)?.name, message: errorMessage(error) },
      },
      outcome === 'unrecoverable' ? 'job failed on bad input; not retried' : 'job failed; may be retried',
    );
    if (options.queued && outcome === 'unrecoverable') throw new UnrecoverableError(errorMessage(error));
    throw error;
  }
}

/** One queued attempt, as executeJob sees it: fields read once from the BullMQ job. */
class QueuedAttempt implements Attempt {
  readonly jobId: string;
  readonly attempt: number;
  readonly lastAttempt: boolean;
  readonly payload: unknown;
  readonly signal: AbortSignal;
  readonly #job: Job;

  constructor(job: Job, signal: AbortSignal) {
    this.#job = job;
    this.jobId = job.id!;
    // attemptsMade counts failures only; a run cut off by SIGKILL (stalled, then started again)
    // counts in attemptsStarted, so the retry gets its own run-history row instead of overwriting
    // the killed attempt's (found by test/reliability/crash.test.ts).
    this.attempt = Math.max(job.attemptsMade + 1, job.attemptsStarted ?? 0);
    // BullMQ retries while failures (attemptsMade) stay below opts.attempts.
    this.lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    this.payload = job.data;
    this.signal = signal;
  }

  progress(value: number | Record<string, unknown>): Promise<void> {
    return this.#job.updateProgress(value);
  }
}

/**
 * The BullMQ processor for one kind. It takes two arguments on purpose: with a third, BullMQ
 * makes an AbortController per job (a few microseconds and garbage for every job). Jobs get the
 * pool's shutdown signal instead, which the pool aborts for every running job when the shutdown
 * deadline passes: the one thing the engine ever aborted them for. Not an async function: it
 * returns executeJob's promise as it is, one promise and its microtasks fewer per job.
 */
export function createProcessor(
  definition: JobDefinition,
  deps: ExecuteDeps,
  shutdown: { stopping(): boolean; signal: AbortSignal },
): Processor {
  return (job: Job, token?: string) => {
    // A job fetched in the instant between "stop" and the worker's blocking connection closing:
    // hand it straight back (no attempt used) for another worker instead of starting it now.
    if (shutdown.stopping() && token) return handBack(job, token);
    return executeJob(definition, new QueuedAttempt(job, shutdown.signal), deps, { queued: true });
  };
}

async function handBack(job: Job, token: string): Promise<never> {
  await job.moveToDelayed(Date.now(), token);
  throw new DelayedError();
}
