// ioredis connections shaped the way BullMQ needs them.
import { Redis } from 'ioredis';
import { InfraError } from './errors.js';
import type { Logger } from './logger.js';

export { Redis };

export const REDIS_HELP =
  'start one with "redis-server --daemonize yes" (Debian package redis-server), or "docker compose up -d redis"; ' +
  'set REDIS_URL if it runs elsewhere';

/**
 * maxRetriesPerRequest null: BullMQ workers block on Redis and must keep retrying through a
 * restart instead of failing commands. Every connection gets an error handler, so a lost Redis
 * is a log line and a reconnect, never an unhandled 'error' event that kills the process.
 */
export function createRedis(
  url: string,
  log: Logger,
  name: string,
  options: { lazyConnect?: boolean } = {},
): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: options.lazyConnect ?? false,
    connectionName: name,
    retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 6), 5_000),
  });
  let lastLogged = 0;
  redis.on('error', (error) => {
    // A down Redis emits an error per reconnect attempt; one line every 5 s is enough.
    const now = Date.now();
    if (now - lastLogged > 5_000) {
      lastLogged = now;
      log.warn(
        { connection: name, err: { message: error.message } },
        `Redis connection problem; ${REDIS_HELP}`,
      );
    }
  });
  return redis;
}

/** One short attempt to reach Redis, for commands that should fail fast with a clear sentence. */
export async function pingRedis(url: string, timeoutMs = 3_000): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new InfraError(`cannot reach Redis at ${url}: ${(error as Error).message}; ${REDIS_HELP}`, {
      cause: error,
    });
  } finally {
    redis.disconnect();
  }
}

/** BullMQ requires noeviction: an evicted job key is a lost job. Warn loudly when it is not set. */
export async function warnUnlessNoEviction(redis: Redis, log: Logger): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy !== 'noeviction') {
      log.warn(
        { policy },
        `Redis maxmemory-policy is "${policy}"; BullMQ needs "noeviction" or jobs can silently disappear ` +
          '(redis-cli CONFIG SET maxmemory-policy noeviction)',
      );
    }
    return policy;
  } catch (error) {
    log.warn(
      { err: { message: (error as Error).message } },
      'could not read Redis maxmemory-policy (CONFIG disabled?)',
    );
    return undefined;
  }
}
