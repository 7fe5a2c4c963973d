// `enqueue <kind>`: add a job to its queue; with --wait, wait for its outcome and print it.
import { QueueEvents } from 'bullmq';
import { AppError } from '../../core/errors.js';
import { getTenant } from '../../core/tenants.js';
import { openEngine } from '../../workers/engine.js';
import { type Command, intFlag } from '../command.js';
import { jobInputFromFlags, payloadFlags, payloadUsage } from './job-flags.js';

export const enqueueCommand: Command = {
  name: 'enqueue',
  summary: 'add a job to its queue (--wait: wait for the outcome)',
  usage: `enqueue <kind> ${payloadUsage} [--job-id ID] [--delay-ms N] [--wait] [--timeout-ms N=600000]`,
  flags: {
    ...payloadFlags,
    'job-id': { type: 'string' },
    'delay-ms': { type: 'string' },
    wait: { type: 'boolean' },
    'timeout-ms': { type: 'string' },
  },
  positionals: true,
  async run(ctx, flags, positionals) {
    const { definition, payload, tenantId } = jobInputFromFlags(flags, positionals);
    const delayMs = intFlag(flags, 'delay-ms', 0, 0, 365 * 86_400_000);
    const timeoutMs = intFlag(flags, 'timeout-ms', 600_000, 1000, 86_400_000);
    const engine = await openEngine({ config: ctx.config, log: ctx.log, clock: ctx.clock, role: 'enqueue' });
    let events: QueueEvents | undefined;
    try {
      if (tenantId) await getTenant(engine.db, tenantId, '--tenant');
      const queue = engine.enqueuer.queue(definition.name);
      if (flags.wait) {
        // Listening before adding, so a fast job's completion cannot be missed.
        events = new QueueEvents(definition.name, {
          connection: engine.redis.duplicate(),
          prefix: ctx.config.QUEUE_PREFIX,
        });
        events.on('error', (error) =>
          ctx.log.warn({ err: { message: error.message } }, 'queue events problem'),
        );
        await events.waitUntilReady();
      }
      const jobId = await engine.enqueue(definition.name, payload, {
        jobId: flags['job-id'] === undefined ? undefined : String(flags['job-id']),
        delayMs,
      });
      ctx.say(`enqueued ${definition.name} job ${jobId}`);
      if (!events) {
        ctx.print({ jobId, kind: definition.name, state: await queue.getJobState(jobId) });
        return;
      }
      if (process.stderr.isTTY) {
        events.on('progress', ({ jobId: id, data }) => {
          if (id !== jobId) return;
          const text = typeof data === 'number' ? `${Math.round(data)}%` : JSON.stringify(data);
          process.stderr.write(`\r${definition.name} ${jobId}: ${text}\u001b[K`);
        });
      }
      const job = await queue.getJob(jobId);
      if (!job)
        throw new AppError(`job ${jobId} disappeared from queue ${definition.name} before it finished`);
      try {
        const result = await job.waitUntilFinished(events, timeoutMs);
        if (process.stderr.isTTY) process.stderr.write('\n');
        ctx.print({ jobId, kind: definition.name, state: 'completed', result });
      } catch (error) {
        throw new AppError(`job ${jobId} did not complete: ${(error as Error).message}`, { cause: error });
      }
    } finally {
      await events?.close();
      await engine.close();
    }
  },
};
