// Starts the dashboard's HTTP server on PORT. Refuses to start without credentials (the board never
// runs open) and closes everything it opened, and only that, on close().
import type { AddressInfo } from 'node:net';
import { createDashboardApp, type DashboardDeps, type DashboardOptions } from './app.js';
import { requireDashboardCredentials } from './auth.js';
import { BULL_BOARD_PATH } from './bull-board.js';

export interface RunningDashboard {
  /** Base URL reachable from this machine, e.g. http://127.0.0.1:3000 (the real port when PORT=0). */
  url: string;
  close(): Promise<void>;
}

export async function startDashboard(deps: DashboardDeps & DashboardOptions): Promise<RunningDashboard> {
  // Checked before anything is opened, so a missing password fails with one clear line.
  requireDashboardCredentials(deps.config);
  const dashboard = createDashboardApp(deps, deps);
  const server = dashboard.app.listen(deps.config.PORT);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (error) {
    await dashboard.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const publicBoard = deps.config.PUBLIC_URL ? `${deps.config.publicUrl}${BULL_BOARD_PATH}` : undefined;
  deps.log.info(
    { url: `${url}${BULL_BOARD_PATH}`, publicUrl: publicBoard, port },
    `dashboard listening on ${publicBoard ?? `${url}${BULL_BOARD_PATH}`}`,
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Idle keep-alive sockets (browsers, Bull Board polling) would hold close() open.
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 2_000).unref();
        });
        await dashboard.close();
      })();
      return closing;
    },
  };
}
