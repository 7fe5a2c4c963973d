// Prometheus metrics (prom-client) on a registry of our own, served at /metrics by the dashboard:
// per-kind run counts and durations from the workers. Queue depths are read from Redis at scrape
// time by the dashboard itself (dashboard/metrics-endpoint.ts, school_queue_jobs).
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

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
