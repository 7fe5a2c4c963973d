// What every long-running role (worker, scheduler, dashboard, start) shares: open the engine,
// waiting for PostgreSQL and Redis rather than crash-looping, run until SIGTERM/SIGINT, then close it.
import { type Engine, openEngine } from '../../workers/engine.js';
import type { CliContext } from '../command.js';

export async function runEngineRole(
  ctx: CliContext,
  role: string,
  body: (engine: Engine) => Promise<void>,
): Promise<void> {
  const engine = await openEngine({
    config: ctx.config,
    log: ctx.log,
    clock: ctx.clock,
    role,
    signal: ctx.stopSignal,
    waitForServices: true,
  });
  try {
    await body(engine);
  } finally {
    await engine.close();
  }
}
