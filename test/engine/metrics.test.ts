// The per-kind run metrics are kept as plain numbers and turned into Prometheus text at scrape
// (workers/metrics.ts): this pins the text a Prometheus server parses, buckets cumulative.
import { describe, expect, it } from 'vitest';
import { jobRunMetrics, metricsRegistry } from '../../workers/metrics.js';

describe('job run metrics', () => {
  it('exposes a counter and a cumulative duration histogram per kind and outcome', async () => {
    jobRunMetrics.record('m-kind', 'completed', 0.001);
    jobRunMetrics.record('m-kind', 'completed', 0.05); // on a bound: counted in le="0.05"
    jobRunMetrics.record('m-kind', 'completed', 0.3);
    jobRunMetrics.record('m-kind', 'unrecoverable', 2_000);

    const counter = await metricsRegistry.getSingleMetricAsString('school_engine_job_runs_total');
    expect(counter).toContain('# TYPE school_engine_job_runs_total counter');
    expect(counter).toContain('school_engine_job_runs_total{kind="m-kind",outcome="completed"} 3');
    expect(counter).toContain('school_engine_job_runs_total{kind="m-kind",outcome="unrecoverable"} 1');

    const text = await metricsRegistry.getSingleMetricAsString('school_engine_job_duration_seconds');
    expect(text).toContain('# TYPE school_engine_job_duration_seconds histogram');
    const line = (outcome: string, le: string) =>
      new RegExp(
        `_bucket\\{kind="m-kind",outcome="${outcome}",le="${le.replace('+', '\\+')}"\\} (\\S+)`,
      ).exec(text)?.[1];
    expect(['0.005', '0.05', '0.25', '1', '1800', '+Inf'].map((le) => line('completed', le))).toEqual([
      '1',
      '2',
      '2',
      '3',
      '3',
      '3',
    ]);
    expect([line('unrecoverable', '1800'), line('unrecoverable', '+Inf')]).toEqual(['0', '1']);
    expect(text).toContain('school_engine_job_duration_seconds_count{kind="m-kind",outcome="completed"} 3');
    expect(text).toMatch(
      /school_engine_job_duration_seconds_sum\{kind="m-kind",outcome="completed"\} 0\.351\d*\n/,
    );
    expect(text).toContain(
      'school_engine_job_duration_seconds_sum{kind="m-kind",outcome="unrecoverable"} 2000',
    );

    metricsRegistry.resetMetrics();
    expect(await metricsRegistry.getSingleMetricAsString('school_engine_job_runs_total')).not.toContain(
      'm-kind',
    );
  });
});
