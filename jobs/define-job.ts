// The contract every job kind follows: one file in jobs/ exporting defineJob({...}), listed once
// in jobs/registry.ts. The CLI, scheduler, workers and dashboard all read the registry.
import type { z } from 'zod';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TenantInfo } from '../core/tenants.js';

/** What a handler gets. Everything comes in through here: no globals, no process.env, no new Date(). */
export interface JobContext {
  /** The engine's own connection (maintenance role). Tenant-scoped reads go through withTenant(ctx.db, ...). */
  db: Db;
  /** Carries the job id, kind and tenant on every line. */
  log: Logger;
  clock: Clock;
  config: Config;
  /** Report progress (a percentage or a small object); shown in Bull Board. Cheap to call often. */
  progress(value: number | Record<string, unknown>): Promise<void>;
  /** Aborted when the worker shuts down or the job is cancelled; long loops check it between batches. */
  signal: AbortSignal;
  jobId: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
  /** False while the queue would still retry a failure; true or absent when a failure is final. */
  lastAttempt?: boolean;
  /** Add follow-up work to a queue (fan-out, chains). Deduplicated by jobId when one is given. */
  enqueue(kind: string, payload: unknown, options?: { jobId?: string; delayMs?: number }): Promise<string>;
}

export interface ScheduleSlot {
  /** The instant the cron slot fired. */
  at: Date;
  /** For per-tenant schedules, the tenant whose local clock fired. */
  tenant?: TenantInfo;
}

export interface JobSchedule {
  /** Default cron expression (five fields); JOB_<KIND>_SCHEDULE overrides it. */
  cron: string;
  /** Evaluate the cron in each active tenant's own time zone and enqueue one job per tenant. */
  perTenant?: boolean;
  /** Time zone for a global schedule (default UTC). */
  timeZone?: string;
  /** Build the payload for a slot. Defaults to {} (global) or { tenantId } (per tenant). */
  payload?(slot: ScheduleSlot): unknown;
}

export interface QueueDefaults {
  concurrency?: number;
  attempts?: number;
  /** First retry delay; later ones double (exponential backoff). */
  backoffMs?: number;
  /** Rate limit per worker process: at most `max` jobs per `durationMs`. */
  limiter?: { max: number; durationMs: number };
}

export interface JobDefinition<S extends z.ZodType = z.ZodType, R = unknown> {
  name: string;
  description: string;
  payload: S;
  schedule?: JobSchedule;
  /** Queue settings, or a function of config when a kind takes them from its own env keys. */
  queue?: QueueDefaults | ((config: Config) => QueueDefaults);
  /** Paths inside the payload that hold personal data, hidden when the board shows job data. */
  personalData?: string[];
  run(payload: z.infer<S>, ctx: JobContext): Promise<R>;
  /** Release process-wide resources the handler keeps between jobs (pooled connections); called when workers stop. */
  release?(): Promise<void>;
}

export function defineJob<S extends z.ZodType, R>(definition: JobDefinition<S, R>): JobDefinition<S, R> {
  if (!/^[a-z][a-z0-9-]{1,62}$/.test(definition.name)) {
    throw new Error(`job name ${definition.name} must be kebab-case`);
  }
  return definition;
}

/**
 * Validate a payload as it arrives (from the queue, the CLI or the scheduler). Old jobs may hold
 * old shapes, so the input is unknown; a failure is an InputError naming the first bad field,
 * which workers turn into an unrecoverable (not retried) failure.
 */
export function parsePayload<S extends z.ZodType>(job: JobDefinition<S>, input: unknown): z.infer<S> {
  const parsed = job.payload.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.length > 0 ? `payload.${issue.path.join('.')}` : 'payload';
  throw new InputError(`${issue.message} (job ${job.name})`, field);
}
