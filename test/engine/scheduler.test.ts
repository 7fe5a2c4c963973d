import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis, type Redis } from '../../core/redis.js';
import { createEnqueuer } from '../../workers/queues.js';
import { listSchedules, Scheduler } from '../../workers/scheduler.js';
import { testConfig } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { dropPrefix, testPrefix } from './fixtures/engine.js';
import { localMorningJob, nightlyJob } from './fixtures/test-jobs.js';

const jobs = [nightlyJob, localMorningJob];
const KOLKATA = '00000000-0000-4000-8000-00000000000a';
const NEW_YORK = '00000000-0000-4000-8000-00000000000b';

let database: TestDatabase;
let redis: Redis;
const prefixes: string[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  redis = createRedis('redis://127.0.0.1:6379', silentLogger, 'scheduler-test');
  await database.db
    .insertInto('tenants')
    .values([
      { id: KOLKATA, slug: 'kolkata', name: 'Kolkata School', time_zone: 'Asia/Kolkata' },
      { id: NEW_YORK, slug: 'new-york', name: 'New York School', time_zone: 'America/New_York' },
      { slug: 'closed', name: 'Closed School', time_zone: 'Europe/Paris', status: 'archived' },
    ])
    .execute();
});

afterAll(async () => {
  for (const close of closers) await close();
  for (const prefix of prefixes) await dropPrefix(redis, prefix, ['test-nightly', 'test-local']);
  redis?.disconnect();
  await database?.drop();
});

/** A scheduler on its own clock and Redis connection; schedulers built with the same config share queues. */
function scheduler(config: Config, clock: ManualClock): Scheduler {
  const connection = createRedis(config.REDIS_URL, silentLogger, 'scheduler');
  const enqueuer = createEnqueuer(connection, config, { jobs });
  closers.push(async () => {
    await enqueuer.close();
    connection.disconnect();
  });
  return new Scheduler({
    db: database.db,
    config,
    clock,
    log: silentLogger,
    redis: connection,
    enqueue: enqueuer.enqueue,
    jobs,
  });
}

function configWith(env: Record<string, string> = {}): Config {
  const prefix = testPrefix();
  prefixes.push(prefix);
  // Only the global kind unless a test wants the per-tenant one.
  return testConfig({ QUEUE_PREFIX: prefix, JOB_TEST_LOCAL_SCHEDULE: 'off', ...env });
}

async function jobIds(config: Config, kind: string): Promise<string[]> {
  const enqueuer = createEnqueuer(redis, config, { jobs });
  const waiting = await enqueuer.queue(kind).getJobs(['waiting', 'delayed', 'completed', 'failed', 'active']);
  await enqueuer.close();
  return waiting.map((job) => job.id!).sort();
}

describe('scheduler', () => {
  it('adds a slot once when two schedulers fire it, and a late one cannot re-add it after cleanup', async () => {
    const config = configWith();
    const clockA = new ManualClock('2026-03-16T01:59:00Z');
    const clockB = new ManualClock('2026-03-16T01:59:00Z');
    const a = scheduler(config, clockA);
    const b = scheduler(config, clockB);
    expect(await a.start({ clocks: false })).toEqual([]);
    expect(await b.start({ clocks: false })).toEqual([]);

    clockA.set('2026-03-16T02:00:00.200Z');
    clockB.set('2026-03-16T02:00:00.900Z');
    const [fromA, fromB] = await Promise.all([a.tick(), b.tick()]);
    expect([...fromA, ...fromB]).toEqual(['test-nightly.all.20260316T0200Z']);
    expect(await jobIds(config, 'test-nightly')).toEqual(['test-nightly.all.20260316T0200Z']);

    // The job ran and retention removed it; a scheduler restarting within the grace window still
    // must not enqueue that slot again.
    const enqueuer = createEnqueuer(redis, config, { jobs });
    await enqueuer.queue('test-nightly').remove('test-nightly.all.20260316T0200Z');
    await enqueuer.close();
    const late = scheduler(config, new ManualClock('2026-03-16T03:30:00Z'));
    expect(await late.start({ clocks: false })).toEqual([]);
    expect(await jobIds(config, 'test-nightly')).toEqual([]);
  });

  it('catches up a slot missed while it was down, within the grace window only', async () => {
    const withinGrace = configWith({ SCHEDULER_GRACE_HOURS: '4' });
    const restarted = scheduler(withinGrace, new ManualClock('2026-03-16T05:00:00Z'));
    expect(await restarted.start({ clocks: false })).toEqual(['test-nightly.all.20260316T0200Z']);

    const beyondGrace = configWith({ SCHEDULER_GRACE_HOURS: '2' });
    const tooLate = scheduler(beyondGrace, new ManualClock('2026-03-16T05:00:00Z'));
    expect(await tooLate.start({ clocks: false })).toEqual([]);
    expect(await jobIds(beyondGrace, 'test-nightly')).toEqual([]);
  });

  it('fires per-tenant schedules in each active tenant’s own time zone, with the tenant in the payload', async () => {
    const config = configWith({
      JOB_TEST_LOCAL_SCHEDULE: '',
      SCHEDULER_GRACE_HOURS: '0',
      JOB_TEST_NIGHTLY_SCHEDULE: 'off',
    });
    const clock = new ManualClock('2026-03-16T00:00:00Z');
    const s = scheduler(config, clock);
    expect(await s.start({ clocks: false })).toEqual([]);

    clock.set('2026-03-16T02:00:00Z'); // 07:30 in Kolkata (UTC+5:30), 22:00 the day before in New York
    expect(await s.tick()).toEqual([`test-local.${KOLKATA}.20260316T0130Z`]);
    clock.set('2026-03-16T11:05:00Z'); // 07:05 in New York (EDT, UTC-4, since 8 March)
    expect(await s.tick()).toEqual([`test-local.${NEW_YORK}.20260316T1100Z`]);
    expect(await s.tick()).toEqual([]);

    const enqueuer = createEnqueuer(redis, config, { jobs });
    const job = await enqueuer.queue('test-local').getJob(`test-local.${NEW_YORK}.20260316T1100Z`);
    expect(job!.data).toEqual({ tenantId: NEW_YORK });
    await enqueuer.close();
  });

  it('lists the next run of each schedule, per tenant for per-tenant ones, honouring overrides', async () => {
    const config = testConfig({ JOB_TEST_NIGHTLY_SCHEDULE: '15 3 * * 1' });
    const rows = await listSchedules(database.db, jobs, config, new Date('2026-03-16T12:00:00Z'));
    expect(rows).toContainEqual(
      expect.objectContaining({
        kind: 'test-nightly',
        cron: '15 3 * * 1',
        source: 'JOB_TEST_NIGHTLY_SCHEDULE',
        nextRun: '2026-03-23T03:15:00.000Z',
        jobId: 'test-nightly.all.20260323T0315Z',
      }),
    );
    const local = rows.filter((row) => row.kind === 'test-local');
    expect(local.map((row) => [row.tenantId, row.nextRun])).toEqual([
      [KOLKATA, '2026-03-17T01:30:00.000Z'],
      [NEW_YORK, '2026-03-17T11:00:00.000Z'],
    ]);
  });

  it('starts and stops its node-cron clocks (global and per-tenant heartbeat)', async () => {
    const config = configWith({ JOB_TEST_LOCAL_SCHEDULE: '' });
    const s = scheduler(config, new ManualClock('2026-03-16T12:00:00Z'));
    await s.start();
    expect(s.kinds.map((k) => k.kind)).toEqual(['test-nightly', 'test-local']);
    await s.stop();
  });

  it('refuses an invalid cron override, naming the variable', () => {
    const config = testConfig({ JOB_TEST_NIGHTLY_SCHEDULE: '0 25 * * *' });
    expect(() => scheduler(config, new ManualClock('2026-03-16T00:00:00Z'))).toThrow(
      /JOB_TEST_NIGHTLY_SCHEDULE/,
    );
  });
});
