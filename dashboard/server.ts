// Placeholder so `start` and `demo` compile on the engine branch; the dashboard branch (Bull
// Board behind auth, health, /metrics) replaces this file with the real server of the same shape.
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from '../core/redis.js';
import { metricsRegistry } from '../workers/metrics.js';
import type { EnqueueFn } from '../workers/queues.js';

export interface DashboardDeps {
  db: Db;
  redis: Redis;
  config: Config;
  clock: Clock;
  log: Logger;
  enqueue: EnqueueFn;
}

export async function startDashboard(deps: DashboardDeps): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
  const server = app.listen(deps.config.PORT);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
