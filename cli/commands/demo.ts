// The README's main command: on a fresh machine, migrate (embedded PostgreSQL when no server
// answers and DATABASE_URL is unset), seed a small demo district, start all roles, run one
// nightly cycle immediately and say where to look. --once stops after the cycle; otherwise the
// worker, scheduler and dashboard keep running until Ctrl-C.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { openDatabase } from '../../core/connect.js';
import { migrateToLatest } from '../../core/migrate.js';
import { pingRedis } from '../../core/redis.js';
import { generateDashboardPassword } from '../../dashboard/auth.js';
import { startEngineDashboard } from '../../dashboard/engine-dashboard.js';
import { generateSchoolData } from '../../seed/generate.js';
import { openEngine } from '../../workers/engine.js';
import { runNightlyCycle } from '../../workers/nightly-cycle.js';
import { Scheduler } from '../../workers/scheduler.js';
import { untilAborted } from '../../workers/shutdown.js';
import { startWorkers } from '../../workers/worker.js';
import { type Command, utcDate } from '../command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'migrate, seed a demo district, run one nightly cycle, then keep all roles running (--once: stop)',
  usage: 'demo [--once]',
  flags: { once: { type: 'boolean' } },
  async run(ctx, flags) {
    // Redis cannot be embedded: say so before spending time on the database.
    await pingRedis(ctx.config.REDIS_URL);
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

      // The demo may invent dashboard credentials (printed once) and a signing secret for its
      // links; a real deployment sets both.
      const generated = !ctx.config.DASHBOARD_USER || !ctx.config.DASHBOARD_PASSWORD;
      const config = {
        ...ctx.config,
        ...(generated ? { DASHBOARD_USER: 'admin', DASHBOARD_PASSWORD: generateDashboardPassword() } : {}),
        SIGNING_SECRET: ctx.config.SIGNING_SECRET ?? randomBytes(32).toString('hex'),
      };
      const engine = await openEngine({ config, log: ctx.log, clock: ctx.clock, role: 'demo', database });
      try {
        const pool = await startWorkers(engine);
        try {
          ctx.say(`running one nightly cycle (${engine.jobs.length} job kind(s) registered) ...`);
          const nightly = await runNightlyCycle(engine);
          for (const outcome of nightly)
            ctx.say(`  ${outcome.kind}${outcome.tenantId ? ` ${outcome.tenantId}` : ''}: ${outcome.state}`);
          const where = {
            outputs: path.resolve(config.EXPORT_DIR),
            runHistory: 'SELECT * FROM job_runs ORDER BY started_at DESC',
          };
          ctx.print({ database: database.embedded ? 'embedded' : 'configured', ...summary, nightly, where });
          if (flags.once) return;

          const scheduler = new Scheduler(engine);
          await scheduler.start();
          const dashboard = await startEngineDashboard(engine);
          ctx.say(`dashboard: ${dashboard.url}/admin/queues`);
          if (generated)
            ctx.say(
              `  user ${config.DASHBOARD_USER}, password ${config.DASHBOARD_PASSWORD} (generated for this run)`,
            );
          ctx.say(`outputs:   ${where.outputs}`);
          ctx.say('worker, scheduler and dashboard are running; Ctrl-C stops them');
          await untilAborted(ctx.stopSignal);
          await dashboard.close();
          await scheduler.stop();
        } finally {
          await pool.close(config.SHUTDOWN_TIMEOUT_MS);
        }
      } finally {
        await engine.close();
      }
    } finally {
      await database.close();
    }
  },
};
