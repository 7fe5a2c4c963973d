// The dashboard as the engine's roles run it (`dashboard`, `start`, `demo`): the workers' metrics
// registry, the engine's registered job kinds, and the routers other parts of the engine own.

import { UNSUBSCRIBE_PATH } from '../jobs/digests/unsubscribe-token.js';
import type { Engine } from '../workers/engine.js';
import { metricsRegistry } from '../workers/metrics.js';
import type { MountedRouter } from './app.js';
import { createExportsRouter } from './exports-api.js';
import { type RunningDashboard, startDashboard } from './server.js';
import { createUnsubscribeRouter } from './unsubscribe.js';

function engineRouters(engine: Engine): MountedRouter[] {
  return [
    { path: '/api/exports', router: createExportsRouter(engine), auth: 'own' },
    { path: UNSUBSCRIBE_PATH, router: createUnsubscribeRouter(engine), auth: 'own' },
  ];
}

export function startEngineDashboard(engine: Engine): Promise<RunningDashboard> {
  return startDashboard({
    ...engine,
    metrics: metricsRegistry,
    jobs: engine.jobs,
    routers: engineRouters(engine),
  });
}
