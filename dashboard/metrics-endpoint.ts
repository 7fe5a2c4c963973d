// GET /metrics in the Prometheus text format: the engine's own metrics (a prom-client Registry the
// workers fill with per-kind counts and durations) followed by queue depths per job kind, read from
// Redis at scrape time so the figure is never staler than the scrape itself.

import type { Queue } from 'bullmq';
import type { RequestHandler } from 'express';
import { Gauge, register as globalRegistry, Registry } from 'prom-client';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export const QUEUE_DEPTH_METRIC = 'school_queue_jobs';

/** The states a queue depth is reported for (BullMQ's own names). */
export const QUEUE_DEPTH_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'failed',
  'completed',
] as const;

export interface MetricsEndpointDeps {
  /** The engine's metrics; prom-client's global registry when not given. */
  metrics?: Registry;
  /** One queue per job kind, keyed by kind. */
  queues: ReadonlyMap<string, Queue>;
  log: Logger;
}

/**
 * The queue-depth gauge lives in a registry of its own, so mounting two dashboards (or the
 * workers registering their own depth gauge in `metrics`) never collides on a metric name.
 */
export function createQueueDepthRegistry(queues: ReadonlyMap<string, Queue>, log: Logger): Registry {
  const registry = new Registry();
  new Gauge({
    name: QUEUE_DEPTH_METRIC,
    help: 'Jobs in each queue (one queue per job kind) by state, read from Redis at scrape time',
    labelNames: ['kind', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        [...queues].map(async ([kind, queue]) => {
          try {
            const counts = await queue.getJobCounts(...QUEUE_DEPTH_STATES);
            for (const state of QUEUE_DEPTH_STATES) this.set({ kind, state }, counts[state] ?? 0);
          } catch (error) {
            // One unreadable queue leaves a gap in its series instead of failing the whole scrape.
            log.warn({ kind, err: { message: errorMessage(error) } }, 'could not read queue depth');
          }
        }),
      );
    },
  });
  return registry;
}

/** The GET /metrics handler; the caller puts it behind operator auth. */
export function createMetricsHandler(deps: MetricsEndpointDeps): RequestHandler {
  const engine = deps.metrics ?? globalRegistry;
  const depths = createQueueDepthRegistry(deps.queues, deps.log);
  return async (_req, res, next) => {
    try {
      const [engineText, depthText] = await Promise.all([engine.metrics(), depths.metrics()]);
      res
        .status(200)
        .set('Content-Type', engine.contentType)
        .set('Cache-Control', 'no-store')
        .send(`${engineText.trimEnd()}\n${depthText}`.trimStart());
    } catch (error) {
      next(error);
    }
  };
}
