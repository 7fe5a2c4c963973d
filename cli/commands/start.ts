// `start`: worker, scheduler and dashboard in one process, for small schools and the demo.
import { startEngineDashboard } from '../../dashboard/engine-dashboard.js';
import { Scheduler } from '../../workers/scheduler.js';
import { untilAborted } from '../../workers/shutdown.js';
import { startWorkers } from '../../workers/worker.js';
import type { Command } from '../command.js';
import { runEngineRole } from './engine-role.js';

export const startCommand: Command = {
  name: 'start',
  summary: 'worker + scheduler + dashboard in one process',
  usage: 'start',
  flags: {},
  run(ctx) {
    return runEngineRole(ctx, 'start', async (engine) => {
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
    });
  },
};
