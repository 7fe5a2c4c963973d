import { openDatabase } from '../../core/connect.js';
import { assertSchemaCurrent } from '../../core/migrate.js';
import { generateSchoolData, SEED_LIMITS } from '../../seed/generate.js';
import { type Command, dateFlag, intFlag, utcDate } from '../command.js';

export const seedCommand: Command = {
  name: 'seed',
  summary: 'generate deterministic synthetic school data (replaces the same seed’s tenants)',
  usage:
    'seed [--tenants N=3] [--students N=200 per tenant] [--days N=60 school days] [--seed N=1] ' +
    '[--audit-rows N=2000 per tenant] [--today YYYY-MM-DD]',
  flags: {
    tenants: { type: 'string' },
    students: { type: 'string' },
    days: { type: 'string' },
    seed: { type: 'string' },
    'audit-rows': { type: 'string' },
    today: { type: 'string' },
  },
  async run(ctx, flags) {
    const options = {
      tenants: intFlag(flags, 'tenants', 3, ...SEED_LIMITS.tenants),
      students: intFlag(flags, 'students', 200, ...SEED_LIMITS.students),
      days: intFlag(flags, 'days', 60, ...SEED_LIMITS.days),
      seed: intFlag(flags, 'seed', 1, ...SEED_LIMITS.seed),
      auditRows: intFlag(flags, 'audit-rows', 2000, ...SEED_LIMITS.auditRows),
      today: dateFlag(flags, 'today') ?? utcDate(ctx.clock.now()),
    };
    const database = await openDatabase(ctx.config, { log: ctx.log });
    try {
      await assertSchemaCurrent(database.db);
      ctx.say(
        `seeding ${options.tenants} tenant(s) x ${options.students} students x ${options.days} school days ...`,
      );
      const summary = await generateSchoolData(database.db, options);
      ctx.say(
        `seeded in ${(summary.durationMs / 1000).toFixed(1)} s: ${summary.rows.attendance ?? 0} attendance rows`,
      );
      ctx.print(summary);
    } finally {
      await database.close();
    }
  },
};
