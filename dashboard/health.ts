// Liveness and readiness for load balancers and orchestrators. No authentication: they reveal only
// whether PostgreSQL and Redis answer, never addresses or data.
import express, { type Router } from 'express';
import { sql } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { Db } from '../core/db.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from '../core/redis.js';

export interface HealthDeps {
  db: Db;
  redis: Redis;
  clock: Clock;
  log: Logger;
  /** How long each dependency may take to answer before it counts as down. */
  readyTimeoutMs?: number;
}

type CheckResult = { ok: true; ms: number } | { ok: false; ms: number; error: string };

// A Redis connection built for BullMQ (maxRetriesPerRequest null) queues commands while it
// reconnects instead of failing them, so without a deadline a down Redis would hang the probe.
async function timed(check: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - started), error: errorMessage(error) };
  } finally {
    clearTimeout(timer);
  }
}

export function createHealthRouter(deps: HealthDeps): Router {
  const router = express.Router();
  const timeoutMs = deps.readyTimeoutMs ?? 2_000;
  const startedAt = deps.clock.now();

  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok', startedAt: startedAt.toISOString() });
  });

  router.get('/readyz', async (_req, res) => {
    const [postgres, redis] = await Promise.all([
      timed(() => sql`SELECT 1`.execute(deps.db), timeoutMs),
      timed(() => deps.redis.ping(), timeoutMs),
    ]);
    const failed = [postgres.ok ? undefined : 'postgres', redis.ok ? undefined : 'redis'].filter(Boolean);
    if (failed.length > 0)
      deps.log.warn({ postgres, redis }, `not ready: ${failed.join(' and ')} unreachable`);
    res
      .status(failed.length === 0 ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({
        status: failed.length === 0 ? 'ready' : 'unavailable',
        failed,
        // Error texts stay in the log: they can name hosts and ports.
        checks: { postgres: { ok: postgres.ok, ms: postgres.ms }, redis: { ok: redis.ok, ms: redis.ms } },
      });
  });

  return router;
}
