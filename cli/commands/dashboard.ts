// `dashboard`: Bull Board, the export API, unsubscribe links, health and metrics, on PORT.
import { startEngineDashboard } from '../../dashboard/engine-dashboard.js';
import { openEngine } from '../../workers/engine.js';
import { untilAborted } from '../../workers/shutdown.js';
import type { Command } from '../command.js';

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'Bull Board and the HTTP API (needs DASHBOARD_USER and DASHBOARD_PASSWORD)',
  usage: 'dashboard',
  flags: {},
  async run(ctx) {
    const engine = await openEngine({
      config: ctx.config,
      log: ctx.log,
      clock: ctx.clock,
      role: 'dashboard',
      signal: ctx.stopSignal,
      waitForDatabase: true,
    });
    try {
      const dashboard = await startEngineDashboard(engine);
      ctx.say(`dashboard: ${dashboard.url}/admin/queues`);
      await untilAborted(ctx.stopSignal);
      await dashboard.close();
    } finally {
      await engine.close();
    }
  },
};
