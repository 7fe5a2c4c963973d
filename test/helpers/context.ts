// A JobContext for calling handlers directly in tests: real database, fixed clock, and a record
// of progress reports and enqueued follow-ups instead of a queue.
import { type Clock, fixedClock } from '../../core/clock.js';
import { type Config, loadConfig } from '../../core/config.js';
import type { Db } from '../../core/db.js';
import { silentLogger } from '../../core/logger.js';
import type { JobContext } from '../../jobs/define-job.js';

export interface TestJobContext extends JobContext {
  progressReports: (number | Record<string, unknown>)[];
  enqueued: { kind: string; payload: unknown; options?: { jobId?: string; delayMs?: number } }[];
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused', ...env });
}

export function testJobContext(
  db: Db,
  overrides: Partial<JobContext> & { clock?: Clock; now?: string; env?: Record<string, string> } = {},
): TestJobContext {
  const { now, env, ...rest } = overrides;
  const progressReports: TestJobContext['progressReports'] = [];
  const enqueued: TestJobContext['enqueued'] = [];
  return {
    db,
    log: silentLogger,
    clock: overrides.clock ?? fixedClock(now ?? '2026-03-16T12:00:00Z'),
    config: testConfig(env),
    signal: new AbortController().signal,
    jobId: 'test-job',
    attempt: 1,
    lastAttempt: false,
    async progress(value) {
      progressReports.push(value);
    },
    async enqueue(kind, payload, options) {
      enqueued.push({ kind, payload, options });
      return options?.jobId ?? `${kind}-${enqueued.length}`;
    },
    ...rest,
    progressReports,
    enqueued,
  };
}
