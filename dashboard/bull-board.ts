// Bull Board wiring: one BullMQ queue per job kind (queue name = kind, prefix = QUEUE_PREFIX), so each
// kind has its own page. The board sees job data, return values, progress, failure reasons and logs
// only through redaction (dashboard/redaction.ts).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { BoardHooks, IServerAdapter } from '@bull-board/api/typings/app';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { Router } from 'express';
import type { Redis } from '../core/redis.js';
import type { JobDefinition } from '../jobs/define-job.js';
import { maskEmailsDeep, redactPersonalData } from './redaction.js';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Routes that write job data typed into the board. The board only ever shows redacted data, so
 * editing or duplicating a job from it would write "[redacted]" back into a real payload; such
 * changes go through the CLI (enqueue) instead.
 */
const BLOCKED_ROUTES = new Set(['/api/queues/:queueName/:jobId/update-data', '/api/queues/:queueName/add']);

export const boardHooks: BoardHooks = {
  before({ route }) {
    if (BLOCKED_ROUTES.has(route)) {
      return {
        allow: false,
        status: 403,
        message:
          'editing or adding job data from the board is disabled because it shows redacted data; use "npm run cli -- enqueue"',
      };
    }
  },
  // Failure reasons, stack traces and job logs are free text (an SMTP rejection names the address),
  // so every email-looking string in an API answer is masked on the way out.
  after(_context, result) {
    return { ...result, body: maskEmailsDeep(result.body) as typeof result.body };
  },
};

export interface QueueBoard {
  router: Router;
  queues: ReadonlyMap<string, Queue>;
  close(): Promise<void>;
}

export function createQueueBoard(options: {
  jobs: readonly JobDefinition[];
  redis: Redis;
  prefix: string;
  basePath: string;
}): QueueBoard {
  const queues = new Map<string, Queue>();
  const adapters = options.jobs.map((job) => {
    // A shared ioredis instance: BullMQ reuses it and leaves closing it to its owner.
    const queue = new Queue(job.name, { connection: options.redis, prefix: options.prefix });
    queues.set(job.name, queue);
    const adapter = new BullMQAdapter(queue, {
      readOnlyMode: false,
      allowRetries: true,
      description: job.description,
    });
    const personal = job.personalData ?? [];
    adapter.setFormatter('data', (data) => redactPersonalData(data, personal));
    adapter.setFormatter('returnValue', (value) => redactPersonalData(value, personal));
    adapter.setFormatter('progress', (progress) => redactPersonalData(progress));
    return adapter;
  });

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(options.basePath);
  createBullBoard({
    queues: adapters,
    // @bull-board/express 9.10.1 pins its own copy of @bull-board/api's types (9.10.1 beside our
    // 9.10.2); the adapter only calls back through the interface, so the duplicate is type-only.
    serverAdapter: serverAdapter as unknown as IServerAdapter,
    options: { uiConfig: { boardTitle: 'School jobs' }, handlerHooks: boardHooks },
  });

  return {
    router: serverAdapter.getRouter() as Router,
    queues,
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };
}
