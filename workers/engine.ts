// What every long-running role opens: the database and Redis (waiting for them rather than
// crash-looping; Redis checked for noeviction), the queues and the run-history writer.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { type OpenedDatabase, openDatabase } from '../core/connect.js';
import { InfraError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { assertSchemaCurrent } from '../core/migrate.js';
import { createRedis, pingRedis, type Redis, warnUnlessNoEviction } from '../core/redis.js';
import type { JobDefinition } from '../jobs/define-job.js';
import { jobRegistry } from '../jobs/registry.js';
import type { ExecuteDeps } from './execute.js';
import { resolveAllJobSettings, unknownOverrides } from './job-settings.js';
import { createEnqueuer, type Enqueuer } from './queues.js';
import { RunHistory } from './run-history.js';

export interface Engine extends ExecuteDeps {
  database: OpenedDatabase;
  redis: Redis;
  enqueuer: Enqueuer;
  jobs: readonly JobDefinition[];
  close(): Promise<void>;
}

/**
 * Retries `open` with a clear line per attempt while the service it needs is unreachable
 * (an InfraError), so a role started before PostgreSQL or Redis waits instead of crash-looping.
 */
async function whileUnreachable<T>(
  service: string,
  open: () => Promise<T>,
  log: Logger,
  signal: AbortSignal | undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (!(error instanceof InfraError) || signal?.aborted) throw error;
      const retryInMs = Math.min(500 * 2 ** (attempt - 1), 15_000);
      log.warn({ attempt, retryInMs }, `waiting for ${service}: ${error.message}`);
      // SIGTERM while waiting ends the wait at once, failing with the reason it was waiting.
      await sleep(retryInMs, undefined, { signal }).catch(() => {
        throw error;
      });
    }
  }
}

export function openDatabaseWaiting(
  config: Config,
  log: Logger,
  options: { signal?: AbortSignal; role: string; poolSize?: number },
): Promise<OpenedDatabase> {
  const open = () => openDatabase(config, { log, poolSize: options.poolSize, applicationName: options.role });
  return whileUnreachable('PostgreSQL', open, log, options.signal);
}

export async function openEngine(options: {
  config: Config;
  log: Logger;
  clock: Clock;
  role: string;
  signal?: AbortSignal;
  jobs?: readonly JobDefinition[];
  /** Wait for PostgreSQL and Redis instead of failing at once (long-running roles). */
  waitForServices?: boolean;
  database?: OpenedDatabase;
}): Promise<Engine> {
  const { config, log, clock } = options;
  const jobs = options.jobs ?? jobRegistry;
  // A bad JOB_<KIND>_* override stops the role here, naming the variable.
  resolveAllJobSettings(jobs, config);
  const unknown = unknownOverrides(jobs, config);
  if (unknown.length > 0) {
    log.warn({ variables: unknown }, `ignoring ${unknown.join(', ')}: no registered job kind has that name`);
  }
  if (options.waitForServices) {
    await whileUnreachable('Redis', () => pingRedis(config.REDIS_URL), log, options.signal);
  } else {
    await pingRedis(config.REDIS_URL);
  }
  const database =
    options.database ??
    (options.waitForServices
      ? await openDatabaseWaiting(config, log, { signal: options.signal, role: options.role, poolSize: 10 })
      : await openDatabase(config, { log, applicationName: options.role }));
  try {
    await assertSchemaCurrent(database.db);
  } catch (error) {
    if (!options.database) await database.close();
    throw error;
  }
  const redis = createRedis(config.REDIS_URL, log, `${config.QUEUE_PREFIX}:${options.role}`);
  await warnUnlessNoEviction(redis, log);
  const enqueuer = createEnqueuer(redis, config, { jobs, log });
  const history = new RunHistory(database, log, {
    flushMs: config.RUN_HISTORY_FLUSH_MS,
    batch: config.RUN_HISTORY_BATCH,
  });
  return {
    db: database.db,
    database,
    config,
    clock,
    log,
    redis,
    enqueuer,
    enqueue: enqueuer.enqueue,
    history,
    jobs,
    async close() {
      await history.close();
      await enqueuer.close();
      redis.disconnect();
      if (!options.database) await database.close();
    },
  };
}
