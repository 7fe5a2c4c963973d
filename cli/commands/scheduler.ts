// `scheduler`: enqueue scheduled slots until stopped. Safe to run more than one.
import { openEngine } from '../../workers/engine.js';
import { Scheduler } from '../../workers/scheduler.js';
import { untilAborted } from '../../workers/shutdown.js';
import type { Command } from '../command.js';

export const schedulerCommand: Command = {
  name: 'scheduler',
  summary: 'enqueue scheduled jobs (safe to run several)',
  usage: 'scheduler',
  flags: {},
  async run(ctx) {
    const engine = await openEngine({
      config: ctx.config,
      log: ctx.log,
      clock: ctx.clock,
      role: 'scheduler',
      signal: ctx.stopSignal,
      waitForDatabase: true,
    });
    try {
      const scheduler = new Scheduler(engine);
      await scheduler.start();
      await untilAborted(ctx.stopSignal);
      await scheduler.stop();
      ctx.log.info('scheduler stopped');
    } finally {
      await engine.close();
    }
  },
};
