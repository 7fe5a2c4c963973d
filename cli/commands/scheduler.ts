// `scheduler`: enqueue scheduled slots until stopped. Safe to run more than one.
import { Scheduler } from '../../workers/scheduler.js';
import { untilAborted } from '../../workers/shutdown.js';
import type { Command } from '../command.js';
import { runEngineRole } from './engine-role.js';

export const schedulerCommand: Command = {
  name: 'scheduler',
  summary: 'enqueue scheduled jobs (safe to run several)',
  usage: 'scheduler',
  flags: {},
  run(ctx) {
    return runEngineRole(ctx, 'scheduler', async (engine) => {
      const scheduler = new Scheduler(engine);
      await scheduler.start();
      await untilAborted(ctx.stopSignal);
      await scheduler.stop();
      ctx.log.info('scheduler stopped');
    });
  },
};
