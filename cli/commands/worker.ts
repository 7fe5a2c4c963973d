// `worker`: process every job kind's queue until SIGTERM/SIGINT, then finish running jobs
// (within SHUTDOWN_TIMEOUT_MS) and exit 0.
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
      const pool = await startWorkers(engine);
      await untilAborted(ctx.stopSignal);
      ctx.log.info(
        { timeoutMs: ctx.config.SHUTDOWN_TIMEOUT_MS },
        'stopping: no new jobs, letting running ones finish',
      );
      await pool.close(ctx.config.SHUTDOWN_TIMEOUT_MS);
      ctx.log.info('worker stopped');
    });
  },
};
