// Prometheus metrics (prom-client) on a registry of our own, served at /metrics by the dashboard:
// per-kind run counts and durations from the workers, and queue depths read from Redis at scrape.
import type { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'school_engine_' });

export const jobRunsTotal = new Counter({
  name: 'school_engine_job_runs_total',
  help: 'Job attempts finished, by kind and outcome (completed, failed, unrecoverable)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const jobDurationSeconds = new Histogram({
  name: 'school_engine_job_duration_seconds',
  help: 'Duration of job attempts, by kind and outcome',
  labelNames: ['kind', 'outcome'] as const,
  buckets: [0.005, 0.05, 0.25, 1, 5, 30, 120, 600, 1800],
  registers: [metricsRegistry],
});

export const queueDepth = new Gauge({
  name: 'school_engine_queue_jobs',
  help: 'Jobs in each queue by state, read from Redis when scraped',
  labelNames: ['kind', 'state'] as const,
  registers: [metricsRegistry],
});

const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;

/** Refresh the queue-depth gauge; call before serialising metricsRegistry (one round trip per queue). */
export async function collectQueueDepths(queues: readonly Queue[]): Promise<void> {
  await Promise.all(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts(...DEPTH_STATES);
      for (const state of DEPTH_STATES) queueDepth.set({ kind: queue.name, state }, counts[state] ?? 0);
    }),
  );
}
