import { openDatabase } from '../../core/connect.js';
import { migrateToLatest } from '../../core/migrate.js';
import type { Command } from '../command.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'create the database if needed and apply pending migrations from sql/',
  usage: 'migrate',
  flags: {},
  async run(ctx) {
    const database = await openDatabase(ctx.config, { log: ctx.log, createIfMissing: true });
    try {
      const outcome = await migrateToLatest(database.db);
      ctx.say(
        outcome.alreadyCurrent
          ? 'database is up to date'
          : `applied ${outcome.applied.length} migration(s): ${outcome.applied.join(', ')}`,
      );
      ctx.print(outcome);
    } finally {
      await database.close();
    }
  },
};
