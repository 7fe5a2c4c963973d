// `start`: worker, scheduler and dashboard in one process, for small schools and the demo.
import { startEngineDashboard } from '../../dashboard/engine-dashboard.js';
import { openEngine } from '../../workers/engine.js';
import { Scheduler } from '../../workers/scheduler.js';
import { untilAborted } from '../../workers/shutdown.js';
import { startWorkers } from '../../workers/worker.js';
import type { Command } from '../command.js';

export const startCommand: Command = {
  name: 'start',
  summary: 'worker + scheduler + dashboard in one process',
  usage: 'start',
  flags: {},
  async run(ctx) {
    const engine = await openEngine({
      config: ctx.config,
      log: ctx.log,
      clock: ctx.clock,
      role: 'start',
      signal: ctx.stopSignal,
      waitForDatabase: true,
    });
    try {
      const pool = await startWorkers(engine);
      const scheduler = new Scheduler(engine);
      try {
        await scheduler.start();
        const dashboard = await startEngineDashboard(engine);
        ctx.say(`dashboard: ${dashboard.url}/admin/queues`);
        await untilAborted(ctx.stopSignal);
        await dashboard.close();
      } finally {
        await scheduler.stop();
        await pool.close(ctx.config.SHUTDOWN_TIMEOUT_MS);
      }
    } finally {
      await engine.close();
    }
  },
};
