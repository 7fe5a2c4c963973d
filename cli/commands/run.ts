// `run <kind>`: run a handler in-process right now, without Redis, and print its result as JSON.
// The run is recorded in job_runs like a queued one.
import { randomUUID } from 'node:crypto';
import { openDatabase } from '../../core/connect.js';
import { assertSchemaCurrent } from '../../core/migrate.js';
import { createRedis, type Redis } from '../../core/redis.js';
import { getTenant } from '../../core/tenants.js';
import { executeJob } from '../../workers/execute.js';
import { createEnqueuer, type Enqueuer } from '../../workers/queues.js';
import { RunHistory } from '../../workers/run-history.js';
import type { Command } from '../command.js';
import { jobInputFromFlags, payloadFlags, payloadUsage } from './job-flags.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run a job in-process now (no Redis) and print its result',
  usage: `run <kind> ${payloadUsage}`,
  flags: payloadFlags,
  positionals: true,
  async run(ctx, flags, positionals) {
    const { definition, payload, tenantId } = jobInputFromFlags(flags, positionals);
    const database = await openDatabase(ctx.config, { log: ctx.log, applicationName: 'run' });
    // Follow-up work the handler enqueues needs Redis; open it only if that happens.
    let redis: Redis | undefined;
    let enqueuer: Enqueuer | undefined;
    const history = new RunHistory(database, ctx.log, { flushMs: 50, batch: 100 });
    try {
      await assertSchemaCurrent(database.db);
      if (tenantId) await getTenant(database.db, tenantId, '--tenant');
      const jobId = `run.${definition.name}.${randomUUID()}`;
      const started = performance.now();
      const showProgress = process.stderr.isTTY;
      const result = await executeJob(
        definition,
        {
          jobId,
          attempt: 1,
          // In-process: nothing retries a failure.
          lastAttempt: true,
          payload,
          signal: ctx.stopSignal,
          async progress(value) {
            if (showProgress) {
              const text = typeof value === 'number' ? `${Math.round(value)}%` : JSON.stringify(value);
              process.stderr.write(`\r${definition.name}: ${text}\u001b[K`);
            }
          },
        },
        {
          db: database.db,
          config: ctx.config,
          clock: ctx.clock,
          log: ctx.log,
          history,
          enqueue(kind, next, options) {
            redis ??= createRedis(ctx.config.REDIS_URL, ctx.log, `${ctx.config.QUEUE_PREFIX}:run`);
            enqueuer ??= createEnqueuer(redis, ctx.config, { log: ctx.log });
            return enqueuer.enqueue(kind, next, options);
          },
        },
      );
      if (showProgress) process.stderr.write('\n');
      ctx.print({
        jobId,
        kind: definition.name,
        durationMs: Math.round(performance.now() - started),
        result,
      });
    } finally {
      await history.close();
      await enqueuer?.close();
      redis?.disconnect();
      await database.close();
    }
  },
};
