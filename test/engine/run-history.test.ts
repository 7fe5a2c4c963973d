// RunHistory on its own against real PostgreSQL: what reaches job_runs, and when. The batched
// writer keeps one object per attempt and sends compact rows (positional JSON, epoch
// milliseconds), so these pin down the columns it must still produce.
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { RunHistory, type RunRecord } from '../../workers/run-history.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

const rowsOf = (kind: string) =>
  database.db.selectFrom('job_runs').selectAll().where('kind', '=', kind).orderBy('job_id').execute();

function attempt(kind: string, jobId: string, startedAt: Date): RunRecord {
  return {
    jobId,
    kind,
    tenantId: null,
    attempt: 1,
    status: 'running',
    payload: { n: 1, nested: { list: [1, 'two'] } },
    result: null,
    error: null,
    worker: 'host:1',
    startedAt,
    finishedAt: null,
  };
}

describe('run history', () => {
  it('writes a short attempt once, finished, with its times, duration and JSON columns', async () => {
    const history = new RunHistory(database.db, silentLogger, { flushMs: 10_000, batch: 1_000 });
    const startedAt = new Date('2026-03-16T12:00:00.123Z');
    const completed = attempt('h-short', '1', startedAt);
    const failed = attempt('h-short', '2', startedAt);
    history.start(completed);
    history.start(failed);
    completed.status = 'completed';
    completed.result = { rows: 3, note: 'quote " and \\ backslash' };
    completed.finishedAt = new Date('2026-03-16T12:00:01.456Z');
    history.finish(completed);
    failed.status = 'failed';
    failed.payload = null;
    failed.error = 'connection reset';
    failed.finishedAt = new Date('2026-03-16T12:00:00.124Z');
    history.finish(failed);
    await history.close();

    const [first, second] = await rowsOf('h-short');
    expect(first).toMatchObject({ status: 'completed', attempt: 1, worker: 'host:1', error: null });
    expect(first!.started_at.toISOString()).toBe('2026-03-16T12:00:00.123Z');
    expect(first!.finished_at!.toISOString()).toBe('2026-03-16T12:00:01.456Z');
    expect(first!.duration_ms).toBe(1333);
    expect(first!.payload).toEqual({ n: 1, nested: { list: [1, 'two'] } });
    expect(first!.result).toEqual({ rows: 3, note: 'quote " and \\ backslash' });
    // JSON null and undefined are stored as SQL NULL, not as the JSON value null.
    expect(second).toMatchObject({ status: 'failed', error: 'connection reset', duration_ms: 1 });
    const { rows } = await sql<{ nulls: boolean }>`
      SELECT payload IS NULL AND result IS NULL AS nulls FROM job_runs WHERE kind = 'h-short' AND job_id = '2'`.execute(
      database.db,
    );
    expect(rows).toEqual([{ nulls: true }]);
  });

  it('shows a long attempt as running after a flush window, then finished in the same row', async () => {
    const history = new RunHistory(database.db, silentLogger, { flushMs: 30, batch: 1_000 });
    const long = attempt('h-long', '1', new Date());
    history.start(long);
    // Not yet: an attempt younger than one window is left for the next flush.
    await history.flush();
    expect(await rowsOf('h-long')).toEqual([]);
    await sleep(150);
    await history.flush();
    expect((await rowsOf('h-long')).map((row) => row.status)).toEqual(['running']);

    long.status = 'completed';
    long.finishedAt = new Date();
    history.finish(long);
    await history.close();
    const rows = await rowsOf('h-long');
    expect(rows.map((row) => [row.status, row.finished_at !== null])).toEqual([['completed', true]]);
  });

  it('keeps rows through a failed write and writes each attempt once when the database is back', async () => {
    const history = new RunHistory(database.db, silentLogger, { flushMs: 10, batch: 1_000 });
    // A tenant id that is not a uuid makes the whole batch fail, as an outage would.
    const bad: RunRecord = { ...attempt('h-retry', '1', new Date()), tenantId: 'not-a-uuid' };
    const good = attempt('h-retry', '2', new Date());
    history.start(bad);
    history.start(good);
    await sleep(30);
    await history.flush();
    expect(await rowsOf('h-retry')).toEqual([]);

    // The good attempt finishes while its 'running' row waits for a retry: one row, finished.
    bad.tenantId = null;
    good.status = 'completed';
    good.finishedAt = new Date();
    history.finish(good);
    await history.close();
    const rows = await rowsOf('h-retry');
    expect(rows.map((row) => [row.job_id, row.status])).toEqual([
      ['1', 'running'],
      ['2', 'completed'],
    ]);
  });
});
