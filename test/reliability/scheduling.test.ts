// Scheduling under redundancy and downtime (issue 9, item 3): two schedulers and three workers
// over a simulated week on fast ManualClocks. Every slot must run exactly once, counted by the
// side effects in PostgreSQL, including the slots missed while both schedulers were down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis, type Redis } from '../../core/redis.js';
import { createEnqueuer } from '../../workers/queues.js';
import { RunHistory } from '../../workers/run-history.js';
import { slotJobId } from '../../workers/schedule-slots.js';
import { Scheduler } from '../../workers/scheduler.js';
import { startWorkers, type WorkerPool } from '../../workers/worker.js';
import { dropPrefix, testPrefix } from '../engine/fixtures/engine.js';
import { testConfig } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createEffectsTable, effects, hourlyJob, nightlyJob } from './fixtures/effect-jobs.js';
import { recordFigure } from './fixtures/figures.js';
import { until } from './fixtures/processes.js';

const jobs = [hourlyJob, nightlyJob];
const HOUR = 3_600_000;
const START = new Date('2026-03-16T00:00:00Z'); // a Monday
const GRACE_HOURS = 4;
// Both schedulers are down on Wednesday from 00:30 to 03:30: hourly 01:00-03:00 and the 02:00
// nightly slot fall in the gap and must be caught up when they come back.
const DOWN_FROM = new Date('2026-03-18T00:30:00Z');
const DOWN_UNTIL = new Date('2026-03-18T03:30:00Z');
const END = new Date(START.getTime() + 7 * 24 * HOUR);

let database: TestDatabase;
let config: Config;
const connections: Redis[] = [];
const pools: WorkerPool[] = [];

function connection(name: string): Redis {
  const redis = createRedis(config.REDIS_URL, silentLogger, name);
  connections.push(redis);
  return redis;
}

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 8 });
  await createEffectsTable(database.db);
  config = testConfig({
    QUEUE_PREFIX: testPrefix(),
    SCHEDULER_GRACE_HOURS: String(GRACE_HOURS),
    JOB_BACKOFF_MS: '50',
  });
  for (let i = 0; i < 3; i++) {
    const redis = connection(`worker-${i}`);
    const enqueuer = createEnqueuer(redis, config, { jobs });
    pools.push(
      await startWorkers({
        db: database.db,
        config,
        clock: systemClock,
        log: silentLogger,
        history: new RunHistory(database, silentLogger, { flushMs: 50, batch: 200 }),
        enqueue: enqueuer.enqueue,
        redis,
        jobs,
      }),
    );
  }
});

afterAll(async () => {
  for (const pool of pools) await pool.close(5_000);
  if (config)
    await dropPrefix(
      connections[0]!,
      config.QUEUE_PREFIX,
      jobs.map((job) => job.name),
    );
  for (const redis of connections) redis.disconnect();
  await database?.drop();
});

function schedulerOn(clock: ManualClock, name: string): Scheduler {
  const redis = connection(name);
  const enqueuer = createEnqueuer(redis, config, { jobs });
  return new Scheduler({
    db: database.db,
    config,
    clock,
    log: silentLogger,
    redis,
    enqueue: enqueuer.enqueue,
    jobs,
  });
}

/**
 * The slots a correct engine runs: every hour and every 02:00 from START - grace (scheduler B's
 * first look-back starts 40 s before that hour) to END.
 */
function expectedSlots(): string[] {
  const ids: string[] = [];
  for (let t = START.getTime() - GRACE_HOURS * HOUR; t <= END.getTime(); t += HOUR) {
    const at = new Date(t);
    ids.push(slotJobId('rel-hourly', undefined, at));
    if (at.getUTCHours() === 2) ids.push(slotJobId('rel-nightly', undefined, at));
  }
  return ids.sort();
}

describe('scheduling over a simulated week', () => {
  it('runs every slot exactly once with two schedulers and three workers, catching up the slots missed while both were down', async () => {
    // Scheduler B's clock runs 40 s behind A's, as two machines' clocks would.
    const clockA = new ManualClock(START);
    const clockB = new ManualClock(new Date(START.getTime() - 40_000));
    let a = schedulerOn(clockA, 'scheduler-a');
    let b = schedulerOn(clockB, 'scheduler-b');
    await Promise.all([a.start({ clocks: false }), b.start({ clocks: false })]);

    let caughtUp: string[] = [];
    let down = false;
    const step = 20 * 60_000; // a tick every 20 simulated minutes, as node-cron would wake them
    for (let t = START.getTime() + step; t <= END.getTime() + step; t += step) {
      clockA.set(new Date(t));
      clockB.set(new Date(t - 40_000));
      if (!down && t >= DOWN_FROM.getTime() && t < DOWN_UNTIL.getTime()) {
        await Promise.all([a.stop(), b.stop()]);
        down = true;
        continue;
      }
      if (down && t < DOWN_UNTIL.getTime()) continue;
      if (down) {
        // Fresh processes: they remember nothing; the first tick looks back over the grace window.
        a = schedulerOn(clockA, 'scheduler-a2');
        b = schedulerOn(clockB, 'scheduler-b2');
        const added = await Promise.all([a.start({ clocks: false }), b.start({ clocks: false })]);
        caughtUp = added.flat().sort();
        down = false;
        continue;
      }
      await Promise.all([a.tick(), b.tick()]);
    }
    await Promise.all([a.stop(), b.stop()]);

    expect(caughtUp).toEqual(
      [
        'rel-hourly.all.20260318T0100Z',
        'rel-hourly.all.20260318T0200Z',
        'rel-hourly.all.20260318T0300Z',
        'rel-nightly.all.20260318T0200Z',
      ].sort(),
    );

    const expected = expectedSlots();
    const rows = await until(async () => {
      const found = await effects(database.db);
      return found.length >= expected.length ? found : undefined;
    }, `${expected.length} scheduled slots to run`);
    // Give a duplicate (if any) a moment to land before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const final = await effects(database.db);
    expect(final.map((row) => row.job_id)).toEqual(expected);
    expect(final.filter((row) => row.runs !== 1)).toEqual([]);
    expect(rows.length).toBe(expected.length);
    recordFigure('scheduling', {
      simulatedDays: 7,
      schedulers: 2,
      workers: 3,
      slots: expected.length,
      caughtUpAfterDowntime: caughtUp.length,
      ranTwice: 0,
      missed: 0,
    });
  });
});
