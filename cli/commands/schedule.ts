// `schedule`: every job kind's schedule and its next run (one line per tenant for per-tenant ones).
import { openDatabase } from '../../core/connect.js';
import { jobRegistry } from '../../jobs/registry.js';
import { listSchedules, scheduledKinds } from '../../workers/scheduler.js';
import type { Command } from '../command.js';

export const scheduleCommand: Command = {
  name: 'schedule',
  summary: 'list each schedule with its next run time',
  usage: 'schedule',
  flags: {},
  async run(ctx) {
    const kinds = scheduledKinds(jobRegistry, ctx.config);
    // Only per-tenant schedules need the database (for tenants and their time zones).
    const database = kinds.some((k) => k.schedule.perTenant)
      ? await openDatabase(ctx.config, { log: ctx.log, applicationName: 'schedule' })
      : undefined;
    try {
      const rows = await listSchedules(database?.db, jobRegistry, ctx.config, ctx.clock.now());
      if (rows.length === 0) ctx.say('no job kind has a schedule');
      for (const row of rows) {
        ctx.say(
          `${row.kind.padEnd(28)} ${row.cron.padEnd(14)} ${row.timeZone.padEnd(20)} next ${row.nextRun}${row.tenant ? `  ${row.tenant}` : ''}`,
        );
      }
      ctx.print(rows);
    } finally {
      await database?.close();
    }
  },
};
