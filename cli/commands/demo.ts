// The README's main command: on a fresh machine, migrate (embedded PostgreSQL when no server
// answers and DATABASE_URL is unset), seed a small demo district, and say where to look.
import { openDatabase } from '../../core/connect.js';
import { migrateToLatest } from '../../core/migrate.js';
import { generateSchoolData } from '../../seed/generate.js';
import { type Command, utcDate } from '../command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'migrate, seed a small demo district and show what was created',
  usage: 'demo',
  flags: {},
  async run(ctx) {
    const database = await openDatabase(ctx.config, { log: ctx.log, createIfMissing: true });
    try {
      await migrateToLatest(database.db);
      const summary = await generateSchoolData(database.db, {
        seed: 1,
        tenants: 4,
        students: 120,
        days: 60,
        auditRows: 500,
        today: utcDate(ctx.clock.now()),
      });
      ctx.say(
        `demo district ready in ${database.embedded ? 'the embedded PostgreSQL' : database.url.replace(/:[^:@/]*@/, ':***@')}:`,
      );
      for (const tenant of summary.tenants)
        ctx.say(`  ${tenant.name} (${tenant.timeZone}, ${tenant.locale}) ${tenant.id}`);
      ctx.print({ database: database.embedded ? 'embedded' : 'configured', ...summary });
    } finally {
      await database.close();
    }
  },
};
