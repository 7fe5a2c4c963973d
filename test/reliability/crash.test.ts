// Crash (issue 9, item 1): SIGKILL the worker process that is running a job, midway; another
// worker process must finish it, the outcome must equal a clean run, and run history must show
// the killed attempt and the retry. Here with the suite's own kind; crash-kinds.test.ts does it
// for every shipped job kind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import type { Enqueuer } from '../../workers/queues.js';
import type { TestDatabase } from '../helpers/postgres.js';
import { effectOf, effects } from './fixtures/effect-jobs.js';
import { LONG, recordFigure } from './fixtures/figures.js';
import { type Harness, openHarness } from './fixtures/harness.js';
import { type Proc, startWorker, until } from './fixtures/processes.js';

let database: TestDatabase;
let config: Config;
let enqueuer: Enqueuer;
const processes: Proc[] = [];

let harness: Harness;

beforeAll(async () => {
  harness = await openHarness('crash-test', { poolSize: 2, processes });
  ({ database, config, enqueuer } = harness);
});

afterAll(() => harness?.close());

function worker(): Proc {
  const proc = startWorker({
    DATABASE_URL: database.url,
    QUEUE_PREFIX: config.QUEUE_PREFIX,
    WORKER_LOCK_DURATION_MS: '1500',
    WORKER_STALLED_INTERVAL_MS: '500',
  });
  processes.push(proc);
  return proc;
}

const runsOf = (jobId: string) =>
  database.db
    .selectFrom('job_runs')
    .select(['attempt', 'status', 'worker'])
    .where('kind', '=', 'rel-effect')
    .where('job_id', '=', jobId)
    .orderBy('attempt')
    .execute();

describe('crash: SIGKILL mid-job', () => {
  it('another worker process finishes the job, the outcome equals a clean run, and history shows the retry', async () => {
    const first = worker();
    await first.waitFor(/worker ready/);

    // A clean run for comparison.
    const cleanId = await enqueuer.enqueue('rel-effect', { sleepMs: 1500 }, { jobId: 'clean' });
    const clean = await until(() => effectOf(database.db, 'rel-effect', cleanId), 'the clean run');

    const jobId = await enqueuer.enqueue('rel-effect', { sleepMs: 1500 }, { jobId: 'crashed' });
    // The long run kills the worker with a backlog in flight too (5 running, the rest waiting).
    const backlog = LONG ? 50 : 0;
    await enqueuer.queue('rel-effect').addBulk(
      Array.from({ length: backlog }, (_, i) => ({
        name: 'rel-effect',
        data: { sleepMs: 300 },
        opts: { jobId: `backlog-${i}`, attempts: 5 },
      })),
    );
    // Midway: the handler has started (its 'running' row is in history) and not written yet.
    await until(
      async () => (await runsOf(jobId)).some((run) => run.status === 'running'),
      'the job to start',
    );
    expect(await effectOf(database.db, 'rel-effect', jobId)).toBeUndefined();
    await first.kill('SIGKILL');

    const second = worker();
    const recovered = await until(
      () => effectOf(database.db, 'rel-effect', jobId),
      'the recovered run',
      60_000,
    );
    expect({ runs: recovered.runs, kind: recovered.kind }).toEqual({ runs: clean.runs, kind: clean.kind });
    expect(recovered.runs).toBe(1);
    expect(recovered.workers).toEqual([second.pid]);
    const history = await until(async () => {
      const runs = await runsOf(jobId);
      return runs.some((run) => run.status === 'completed') ? runs : undefined;
    }, 'run history');
    expect(
      history.map((run) => [
        run.attempt,
        run.status,
        run.worker?.endsWith(`:${run.attempt === 1 ? first.pid : second.pid}`),
      ]),
    ).toEqual([
      [1, 'running', true], // the killed attempt never finished
      [2, 'completed', true],
    ]);
    expect(second.output()).toMatch(/job stalled/);
    const backlogRows = await until(async () => {
      const rows = await effects(database.db, 'rel-effect');
      const done = rows.filter((row) => row.job_id.startsWith('backlog-'));
      return done.length === backlog ? done : undefined;
    }, 'the backlog');
    expect(backlogRows.filter((row) => row.runs !== 1)).toEqual([]);
    expect(await second.kill('SIGTERM')).toBe(0);
    recordFigure(LONG ? 'fault-sigkill-long' : 'fault-sigkill', {
      jobs: 1 + backlog,
      survived: 1 + backlogRows.length,
      duplicatedEffects: 0,
    });
  });
});
