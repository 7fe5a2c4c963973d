// One BullMQ queue per job kind (the queue name is the kind), so Bull Board shows each on its
// own and every kind gets its own concurrency, retries and retention.
import { type JobsOptions, Queue } from 'bullmq';
import type { Config } from '../core/config.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from '../core/redis.js';
import { type JobDefinition, parsePayload } from '../jobs/define-job.js';
import { jobRegistry } from '../jobs/registry.js';
import { type JobSettings, resolveJobSettings } from './job-settings.js';

export type EnqueueOptions = { jobId?: string; delayMs?: number };
/** Same signature as JobContext.enqueue: resolves to the job id. */
export type EnqueueFn = (kind: string, payload: unknown, options?: EnqueueOptions) => Promise<string>;

/**
 * Retention is bounded by count and by age, so Redis memory does not grow without end. Completed
 * jobs are kept long enough for the board and for `enqueue --wait`; slot deduplication does not
 * rely on them (the scheduler keeps its own key, see scheduler.ts).
 */
export function defaultJobOptions(settings: JobSettings, config: Config): JobsOptions {
  return {
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs },
    removeOnComplete: { age: config.QUEUE_KEEP_COMPLETED_HOURS * 3600, count: config.QUEUE_KEEP_COMPLETED },
    removeOnFail: { age: config.QUEUE_KEEP_FAILED_DAYS * 86_400, count: config.QUEUE_KEEP_FAILED },
  };
}

export function findDefinition(jobs: readonly JobDefinition[], kind: string): JobDefinition {
  const job = jobs.find((candidate) => candidate.name === kind);
  if (!job) {
    const known = jobs.map((candidate) => candidate.name).join(', ') || 'none registered yet';
    throw new InputError(`unknown job kind ${JSON.stringify(kind)}; known kinds: ${known}`, 'kind');
  }
  return job;
}

export interface Enqueuer {
  enqueue: EnqueueFn;
  /** The queue of a kind (created on first use). Throws InputError for an unknown kind. */
  queue(kind: string): Queue;
  /** Every kind's queue, for the board and metrics. */
  queues(): Queue[];
  close(): Promise<void>;
}

export function createEnqueuer(
  connection: Redis,
  config: Config,
  options: { jobs?: readonly JobDefinition[]; log?: Logger } = {},
): Enqueuer {
  const jobs = options.jobs ?? jobRegistry;
  const queues = new Map<string, Queue>();
  const optionsByKind = new Map<string, JobsOptions>();

  const queue = (kind: string): Queue => {
    const job = findDefinition(jobs, kind);
    let existing = queues.get(kind);
    if (!existing) {
      existing = new Queue(kind, { connection, prefix: config.QUEUE_PREFIX });
      existing.on('error', (error) =>
        options.log?.warn({ kind, err: { message: error.message } }, 'queue connection problem'),
      );
      queues.set(kind, existing);
      optionsByKind.set(kind, defaultJobOptions(resolveJobSettings(job, config), config));
    }
    return existing;
  };

  return {
    queue,
    queues: () => jobs.map((job) => queue(job.name)),
    async enqueue(kind, payload, { jobId, delayMs } = {}) {
      const job = findDefinition(jobs, kind);
      // Validate at the edge: a bad payload is refused here, before it reaches Redis.
      const data = parsePayload(job, payload);
      if (jobId !== undefined && (jobId.includes(':') || /^\d+$/.test(jobId) || jobId.length > 200)) {
        throw new InputError('must not contain ":", be all digits or exceed 200 characters', 'jobId');
      }
      const added = await queue(kind).add(kind, data, {
        ...optionsByKind.get(kind),
        ...(jobId ? { jobId } : {}),
        ...(delayMs ? { delay: delayMs } : {}),
      });
      return added.id!;
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
