// The dashboard's Express app: health probes (open), routers that bring their own auth (export API,
// unsubscribe links), and the operator area behind Basic auth: Bull Board at /admin/queues,
// Prometheus metrics at /metrics and any operator routers other issues mount.
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db.js';
import { InputError, NotFoundError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from '../core/redis.js';
import type { JobContext, JobDefinition } from '../jobs/define-job.js';
import { jobRegistry } from '../jobs/registry.js';
import { basicAuth, LoginLockout, requireDashboardCredentials, requireSameOrigin } from './auth.js';
import { BULL_BOARD_PATH, createQueueBoard } from './bull-board.js';
import { createHealthRouter } from './health.js';
import { createMetricsHandler } from './metrics-endpoint.js';

export interface DashboardDeps {
  db: Db;
  /** A BullMQ-ready connection (maxRetriesPerRequest null, see core/redis.ts); the caller owns it. */
  redis: Redis;
  config: Config;
  clock: Clock;
  log: Logger;
  enqueue: JobContext['enqueue'];
  /** The engine's Prometheus registry; prom-client's global registry when not given. */
  metrics?: Registry;
}

/** 'operator' routers sit behind the dashboard's Basic auth; 'own' routers bring their own. */
export interface MountedRouter {
  path: string;
  router: Router;
  auth: 'operator' | 'own';
}

export interface DashboardOptions {
  routers?: MountedRouter[];
  /** The job kinds shown on the board (one queue each); the registry when not given. */
  jobs?: readonly JobDefinition[];
  /** Per-dependency deadline for /readyz. */
  readyTimeoutMs?: number;
}

export interface DashboardApp {
  app: Express;
  /** Closes the BullMQ queues the board opened (not the Redis connection or the database). */
  close(): Promise<void>;
}

export function createDashboardApp(deps: DashboardDeps, options: DashboardOptions = {}): DashboardApp {
  const { config, log } = deps;
  const credentials = requireDashboardCredentials(config);
  const jobs = options.jobs ?? jobRegistry;
  const routers = options.routers ?? [];
  const secure = config.publicUrl.startsWith('https:');

  const app = express();
  app.disable('x-powered-by');
  if (config.DASHBOARD_TRUST_PROXY) app.set('trust proxy', trustProxySetting(config.DASHBOARD_TRUST_PROXY));
  app.use(
    helmet({
      contentSecurityPolicy: {
        // Over plain http (local runs, the demo) upgrading subresources to https would break the board.
        directives: {
          upgradeInsecureRequests: secure ? [] : null,
          // Bull Board links Google Fonts; an operator's browser should not report to a third party
          // each time the board opens (and closed networks would wait on the lookup). System fonts do.
          styleSrc: ["'self'", "'unsafe-inline'"],
          fontSrc: ["'self'", 'data:'],
        },
      },
      strictTransportSecurity: secure,
    }),
  );

  app.use(createHealthRouter({ ...deps, readyTimeoutMs: options.readyTimeoutMs }));
  app.get('/', (_req, res) => res.redirect(BULL_BOARD_PATH));

  for (const mounted of routers.filter((r) => r.auth === 'own')) app.use(mounted.path, mounted.router);

  const lockout = new LoginLockout(
    {
      maxFailures: config.DASHBOARD_LOCKOUT_ATTEMPTS,
      lockMs: config.DASHBOARD_LOCKOUT_SECONDS * 1000,
    },
    deps.clock,
  );
  const operatorOnly: RequestHandler[] = [
    basicAuth({ credentials, lockout, log }),
    requireSameOrigin({ publicUrl: config.PUBLIC_URL }),
  ];

  const board = createQueueBoard({
    jobs,
    redis: deps.redis,
    prefix: config.QUEUE_PREFIX,
    basePath: BULL_BOARD_PATH,
  });
  app.use(BULL_BOARD_PATH, ...operatorOnly, board.router);
  app.get(
    '/metrics',
    ...operatorOnly,
    createMetricsHandler({ metrics: deps.metrics, queues: board.queues, log }),
  );
  for (const mounted of routers.filter((r) => r.auth === 'operator')) {
    app.use(mounted.path, ...operatorOnly, mounted.router);
  }

  app.use((req, res) => {
    res.status(404).json({ error: `no such page: ${req.method} ${req.path}` });
  });
  app.use(errorHandler(log));

  return { app, close: () => board.close() };
}

/** "2" means two proxy hops; anything else is Express's address list syntax ("loopback, 10.0.0.0/8"). */
export function trustProxySetting(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}

function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (error instanceof NotFoundError) {
      res.status(404).json({ error: error.message });
    } else if (error instanceof InputError) {
      res.status(400).json({ error: error.message, field: error.field });
    } else if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
      // body-parser and friends: malformed JSON, body too large.
      res.status(error.status).json({ error: error.expose ? error.message : 'bad request' });
    } else {
      log.error({ err: error, path: req.path }, 'dashboard request failed');
      res.status(500).json({ error: 'internal error; see the dashboard log' });
    }
  };
}
