import { openDatabase } from '../../core/connect.js';
import { assertMaintenanceRole } from '../../core/db.js';
import { assertSchemaCurrent } from '../../core/migrate.js';
import { createRedis, pingRedis, warnUnlessNoEviction } from '../../core/redis.js';
import type { Command } from '../command.js';

export const checkCommand: Command = {
  name: 'check',
  summary: 'verify configuration, PostgreSQL (reachable, migrated, role) and Redis (reachable, noeviction)',
  usage: 'check',
  flags: {},
  async run(ctx) {
    const database = await openDatabase(ctx.config, { log: ctx.log });
    try {
      await assertSchemaCurrent(database.db);
      await assertMaintenanceRole(database.db);
    } finally {
      await database.close();
    }
    await pingRedis(ctx.config.REDIS_URL);
    const redis = createRedis(ctx.config.REDIS_URL, ctx.log, 'check');
    try {
      const policy = await warnUnlessNoEviction(redis, ctx.log);
      ctx.say(
        `ok: PostgreSQL ${database.embedded ? '(embedded) ' : ''}is migrated; Redis answers (maxmemory-policy ${policy ?? 'unknown'})`,
      );
      ctx.print({
        postgres: 'ok',
        embedded: database.embedded,
        redis: 'ok',
        maxmemoryPolicy: policy ?? null,
      });
    } finally {
      redis.disconnect();
    }
  },
};
