// Prometheus metrics (prom-client) on a registry of our own, served at /metrics by the dashboard:
// per-kind run counts and durations from the workers. Queue depths are read from Redis at scrape
// time by the dashboard itself (dashboard/metrics-endpoint.ts, school_queue_jobs).
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'school_engine_' });

type Outcome = 'completed' | 'failed' | 'unrecoverable';

const DURATION_BUCKETS = [0.005, 0.05, 0.25, 1, 5, 30, 120, 600, 1800];

interface Series {
  labels: { kind: string; outcome: Outcome };
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: number[];
}

/**
 * Attempts finished, by kind and outcome: a count and a duration histogram. Kept as plain numbers
 * per series and turned into Prometheus's counter and histogram at scrape. prom-client's
 * Counter#inc and Histogram#observe validate and hash their labels on every call: about 1.5 us a
 * job, a tenth of the engine's own cost on a trivial job at thousands a second (bench/engine.ts).
 */
class JobRunMetrics {
  readonly #series = new Map<string, Series>();

  record(kind: string, outcome: Outcome, seconds: number): void {
    // Keyed by the kind alone for the common outcome: no string is built per job.
    const key = outcome === 'completed' ? kind : `${kind}\u0000${outcome}`;
    let series = this.#series.get(key);
    if (!series) {
      series = {
        labels: { kind, outcome },
        count: 0,
        sum: 0,
        buckets: DURATION_BUCKETS.map(() => 0).concat(0),
      };
      this.#series.set(key, series);
    }
    series.count += 1;
    series.sum += seconds;
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    series.buckets[bucket]! += 1;
  }

  reset(): void {
    this.#series.clear();
  }

  /** The registry asks a metric for get() and reset() only; these two are built on the store. */
  register(registry: Registry): void {
    const counter = {
      name: 'school_engine_job_runs_total',
      help: 'Job attempts finished, by kind and outcome (completed, failed, unrecoverable)',
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({
        ...counter,
        values: [...this.#series.values()].map((series) => ({ labels: series.labels, value: series.count })),
      }),
      reset: () => this.reset(),
    };
    const histogram = {
      name: 'school_engine_job_duration_seconds',
      help: 'Duration of job attempts, by kind and outcome',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({ ...histogram, values: [...this.#series.values()].flatMap(histogramValues) }),
      reset: () => this.reset(),
    };
    registry.registerMetric(counter as unknown as Metric);
    registry.registerMetric(histogram as unknown as Metric);
  }
}

function histogramValues(series: Series) {
  const name = 'school_engine_job_duration_seconds';
  let cumulative = 0;
  const buckets = series.buckets.map((count, index) => {
    cumulative += count;
    const le = index < DURATION_BUCKETS.length ? DURATION_BUCKETS[index]! : '+Inf';
    return { metricName: `${name}_bucket`, labels: { ...series.labels, le }, value: cumulative };
  });
  return [
    ...buckets,
    { metricName: `${name}_sum`, labels: series.labels, value: series.sum },
    { metricName: `${name}_count`, labels: series.labels, value: series.count },
  ];
}

export const jobRunMetrics = new JobRunMetrics();
jobRunMetrics.register(metricsRegistry);
