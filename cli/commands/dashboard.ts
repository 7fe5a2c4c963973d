// `dashboard`: Bull Board, the export API, unsubscribe links, health and metrics, on PORT.
import { startEngineDashboard } from '../../dashboard/engine-dashboard.js';
import { untilAborted } from '../../workers/shutdown.js';
import type { Command } from '../command.js';
import { runEngineRole } from './engine-role.js';

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'Bull Board and the HTTP API (needs DASHBOARD_USER and DASHBOARD_PASSWORD)',
  usage: 'dashboard',
  flags: {},
  run(ctx) {
    return runEngineRole(ctx, 'dashboard', async (engine) => {
      const dashboard = await startEngineDashboard(engine);
      ctx.say(`dashboard: ${dashboard.url}/admin/queues`);
      await untilAborted(ctx.stopSignal);
      await dashboard.close();
    });
  },
};
