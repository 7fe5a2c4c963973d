// `worker`: process every job kind's queue until SIGTERM/SIGINT, then finish running jobs
// (within SHUTDOWN_TIMEOUT_MS) and exit 0. With WORKER_METRICS_PORT it serves its own /metrics.
import { metricsRegistry } from '../../workers/metrics.js';
import { serveWorkerMetrics } from '../../workers/metrics-server.js';
import { untilAborted } from '../../workers/shutdown.js';
import { startWorkers } from '../../workers/worker.js';
import type { Command } from '../command.js';
import { runEngineRole } from './engine-role.js';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'process queued jobs until stopped',
  usage: 'worker',
  flags: {},
  run(ctx) {
    return runEngineRole(ctx, 'worker', async (engine) => {
      const metrics = ctx.config.WORKER_METRICS_PORT
        ? await serveWorkerMetrics(metricsRegistry, {
            port: ctx.config.WORKER_METRICS_PORT,
            host: ctx.config.WORKER_METRICS_HOST,
            log: ctx.log,
          })
        : undefined;
      const pool = await startWorkers(engine);
      await untilAborted(ctx.stopSignal);
      ctx.log.info(
        { timeoutMs: ctx.config.SHUTDOWN_TIMEOUT_MS },
        'stopping: no new jobs, letting running ones finish',
      );
      await pool.close(ctx.config.SHUTDOWN_TIMEOUT_MS);
      metrics?.close();
      ctx.log.info('worker stopped');
    });
  },
};
