// Shared by the dashboard test files: two job kinds that exist only in tests, a config with
// credentials and a private queue prefix, and a running dashboard over real PostgreSQL and Redis.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { z } from 'zod';
import { systemClock } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis, type Redis } from '../../core/redis.js';
import type { DashboardDeps, DashboardOptions } from '../../dashboard/app.js';
import { type RunningDashboard, startDashboard } from '../../dashboard/server.js';
import { defineJob, type JobDefinition } from '../../jobs/define-job.js';
import { testConfig } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

export const USER = 'operator';
export const PASSWORD = 'correct horse battery staple';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const parentNotice = defineJob({
  name: 'test-parent-notice',
  description: 'Test kind whose payload holds personal data',
  payload: z.object({
    tenantId: z.string(),
    parent: z.object({ email: z.string(), displayName: z.string() }),
    students: z.array(z.object({ id: z.string(), fullLegalName: z.string() })),
  }),
  personalData: ['parent.displayName', 'students.*.fullLegalName'],
  async run() {
    return {};
  },
});

export const nightlyTidy = defineJob({
  name: 'test-nightly-tidy',
  description: 'Test kind without personal data',
  payload: z.object({}),
  async run() {
    return { removed: 0 };
  },
});

export const testJobs: JobDefinition[] = [parentNotice, nightlyTidy] as JobDefinition[];

export function dashboardConfig(env: Record<string, string> = {}): Config {
  const config = testConfig({
    REDIS_URL,
    QUEUE_PREFIX: `test-${randomUUID().slice(0, 18)}`,
    DASHBOARD_USER: USER,
    DASHBOARD_PASSWORD: PASSWORD,
    ...env,
  });
  // PORT=0: let the kernel pick a free port (the schema wants 1-65535 from the environment).
  return { ...config, PORT: 0 };
}

export function basic(user = USER, password = PASSWORD): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export interface DashboardFixture {
  database: TestDatabase;
  redis: Redis;
  config: Config;
  dashboard: RunningDashboard;
  /** A queue handle on the same prefix, for adding jobs the board should show. */
  queue(kind: string): Queue;
  deps: DashboardDeps;
  close(): Promise<void>;
}

export async function startTestDashboard(
  options: DashboardOptions & { env?: Record<string, string>; metrics?: DashboardDeps['metrics'] } = {},
): Promise<DashboardFixture> {
  const database = await createTestDatabase({ poolSize: 3 });
  const config = dashboardConfig(options.env);
  const redis = createRedis(config.REDIS_URL, silentLogger, 'dashboard-test');
  const deps: DashboardDeps = {
    db: database.db,
    redis,
    config,
    clock: systemClock,
    log: silentLogger,
    metrics: options.metrics,
    async enqueue() {
      throw new Error('not used by the dashboard tests');
    },
  };
  const dashboard = await startDashboard({ ...deps, jobs: testJobs, ...options });
  const queues = new Map<string, Queue>();
  return {
    database,
    redis,
    config,
    dashboard,
    deps,
    queue(kind) {
      let queue = queues.get(kind);
      if (!queue) {
        queue = new Queue(kind, { connection: redis, prefix: config.QUEUE_PREFIX });
        queues.set(kind, queue);
      }
      return queue;
    },
    async close() {
      await dashboard.close();
      for (const job of testJobs) {
        const queue =
          queues.get(job.name) ?? new Queue(job.name, { connection: redis, prefix: config.QUEUE_PREFIX });
        await queue.obliterate({ force: true });
        await queue.close();
      }
      await redis.quit();
      await database.drop();
    },
  };
}
