// RunHistory on its own against real PostgreSQL: what reaches job_runs, and when. The batched
// writer keeps one object per attempt, appends finished attempts with COPY (its own text format
// and escaping) and upserts the rest as positional JSON, so these pin down the columns both paths
// must still produce.
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../core/db.js';
import { createLogger, type Logger, silentLogger } from '../../core/logger.js';
import { RunHistory, type RunRecord } from '../../workers/run-history.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

const rowsOf = (kind: string) =>
  database.db.selectFrom('job_runs').selectAll().where('kind', '=', kind).orderBy('job_id').execute();

/** An outage as the writer sees it (a server-side error, not a refused row): job_runs is gone meanwhile. */
async function whileJobRunsIsAway(work: () => Promise<void>): Promise<void> {
  await sql`ALTER TABLE job_runs RENAME TO job_runs_away`.execute(database.db);
  try {
    await work();
  } finally {
    await sql`ALTER TABLE job_runs_away RENAME TO job_runs`.execute(database.db);
  }
}

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

/** An attempt from start to its outcome (completed now, unless `outcome` says otherwise). */
function runThrough(history: RunHistory, run: RunRecord, outcome: Partial<RunRecord> = {}): void {
  history.start(run);
  Object.assign(run, { status: 'completed', finishedAt: new Date() }, outcome);
  history.finish(run);
}

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const written: string[] = [];
  const log = createLogger({
    destination: new Writable({ write: (line, _e, done) => done(void written.push(String(line))) }),
  });
  return { log, lines: () => written.map((line) => JSON.parse(line)) };
}

describe('run history', () => {
  it('writes a short attempt once, finished, with its times, duration and JSON columns', async () => {
    const history = new RunHistory(database, silentLogger, { flushMs: 10_000, batch: 1_000 });
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
    const history = new RunHistory(database, silentLogger, { flushMs: 30, batch: 1_000 });
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
    const history = new RunHistory(database, silentLogger, { flushMs: 10, batch: 1_000 });
    const first = attempt('h-retry', '1', new Date());
    const second = attempt('h-retry', '2', new Date());
    await whileJobRunsIsAway(async () => {
      history.start(first);
      history.start(second);
      await sleep(30);
      await history.flush();
    });
    expect(await rowsOf('h-retry')).toEqual([]);

    // The second attempt finishes while its 'running' row waits for a retry: one row, finished.
    second.status = 'completed';
    second.finishedAt = new Date();
    history.finish(second);
    await history.close();
    const rows = await rowsOf('h-retry');
    expect(rows.map((row) => [row.job_id, row.status])).toEqual([
      ['1', 'running'],
      ['2', 'completed'],
    ]);
  });

  it('appends text that COPY must escape intact, and drops the NUL characters PostgreSQL refuses', async () => {
    const history = new RunHistory(database, silentLogger, { flushMs: 10_000, batch: 1_000 });
    const awkward = attempt('h-escape', 'id\twith\\odd\nchars', new Date('2026-03-16T12:00:59.007Z'));
    awkward.payload = {
      text: 'tab\there "quoted" \\ back\\slash\nnew line\r',
      nul: 'a\u0000b',
      'key\u0000with NUL': 'escaped \\u0000 stays text',
      lone: 'half a pair \ud800 and \udc00',
      accents: 'é ✓ 学校',
    };
    runThrough(history, awkward, {
      status: 'failed',
      error: 'first line\nsecond\tcolumn \\N not null\r\u0000end',
      finishedAt: new Date('2026-03-16T12:01:00.050Z'),
    });
    // A second row in another second: timestamps are built per second and must not reuse the text.
    runThrough(history, attempt('h-escape', 'plain', new Date('2026-03-16T13:30:00.000Z')), {
      result: 'a JSON string, not an object',
      finishedAt: new Date('2026-03-16T13:30:00.999Z'),
    });
    // An outcome without an end time (the type allows it): both time columns stay empty.
    runThrough(history, attempt('h-escape', 'unended', new Date('2026-03-16T14:00:00.000Z')), {
      status: 'cancelled',
      finishedAt: null,
    });
    await history.close();

    const rows = await rowsOf('h-escape');
    expect(rows.map((row) => row.job_id)).toEqual(['id\twith\\odd\nchars', 'plain', 'unended']);
    const [odd, plain, unendedRow] = rows;
    expect(unendedRow).toMatchObject({ status: 'cancelled', finished_at: null, duration_ms: null });
    expect(odd!.payload).toEqual({
      text: 'tab\there "quoted" \\ back\\slash\nnew line\r',
      nul: 'ab',
      'keywith NUL': 'escaped \\u0000 stays text',
      lone: 'half a pair \ufffd and \ufffd',
      accents: 'é ✓ 学校',
    });
    expect(odd!.error).toBe('first line\nsecond\tcolumn \\N not null\rend');
    expect(odd!.result).toBeNull();
    expect([odd!.started_at.toISOString(), odd!.finished_at!.toISOString(), odd!.duration_ms]).toEqual([
      '2026-03-16T12:00:59.007Z',
      '2026-03-16T12:01:00.050Z',
      1043,
    ]);
    expect(plain!.result).toBe('a JSON string, not an object');
    expect([plain!.started_at.toISOString(), plain!.finished_at!.toISOString(), plain!.duration_ms]).toEqual([
      '2026-03-16T13:30:00.000Z',
      '2026-03-16T13:30:00.999Z',
      999,
    ]);
  });

  it("settles on the outcome when another worker's row for the same attempt is already there", async () => {
    // A stalled attempt picked up again elsewhere: the first worker left a 'running' row, and the
    // second one's quick finish has no row of its own, so it is appended, meets the key, and the
    // batch is written again as an upsert.
    await sql`INSERT INTO job_runs (job_id, kind, attempt, status, worker, started_at)
              VALUES ('1', 'h-conflict', 1, 'running', 'killed:1', now())`.execute(database.db);
    const history = new RunHistory(database, silentLogger, { flushMs: 10_000, batch: 1_000 });
    for (const jobId of ['1', '2'])
      runThrough(history, attempt('h-conflict', jobId, new Date()), { result: { jobId } });
    await history.close();
    const rows = await rowsOf('h-conflict');
    expect(rows.map((row) => [row.job_id, row.status, row.worker, row.result])).toEqual([
      ['1', 'completed', 'host:1', { jobId: '1' }],
      ['2', 'completed', 'host:1', { jobId: '2' }],
    ]);
  });

  it('keeps appended rows through a failed COPY and appends each once when it can', async () => {
    const history = new RunHistory(database, silentLogger, { flushMs: 10, batch: 1_000 });
    for (const jobId of ['1', '2']) runThrough(history, attempt('h-copy-retry', jobId, new Date()));
    await whileJobRunsIsAway(() => history.flush());
    expect(await rowsOf('h-copy-retry')).toEqual([]);

    await history.close();
    expect((await rowsOf('h-copy-retry')).map((row) => [row.job_id, row.status])).toEqual([
      ['1', 'completed'],
      ['2', 'completed'],
    ]);
  });

  it('writes the rest of a batch when PostgreSQL refuses one row no check foresaw, and drops only that one', async () => {
    const { log, lines } = capturingLogger();
    const history = new RunHistory(database, log, { flushMs: 10_000, batch: 1_000 });
    // job_id is varchar(200): too long a value fails the COPY of everything beside it.
    for (const jobId of ['ok-1', 'x'.repeat(201), 'ok-2'])
      runThrough(history, attempt('h-refused', jobId, new Date()));
    await history.close();
    expect((await rowsOf('h-refused')).map((row) => row.job_id)).toEqual(['ok-1', 'ok-2']);
    const refused = lines().filter((line) => line.level === 'error');
    expect(refused).toEqual([
      expect.objectContaining({
        kind: 'h-refused',
        jobId: 'x'.repeat(201),
        msg: expect.stringContaining('refused'),
      }),
    ]);
  });

  it('while PostgreSQL is unreachable, backs off instead of resending the kept rows on every finish', async () => {
    const { log, lines } = capturingLogger();
    // Nothing listens on port 1: every connection is refused at once.
    const down = createDatabase('postgres://postgres@127.0.0.1:1/none', { log: silentLogger, max: 2 });
    const history = new RunHistory(down, log, { flushMs: 20, batch: 10 });
    const finishOne = (jobId: string) => runThrough(history, attempt('h-down', jobId, new Date()));
    for (let i = 0; i < 10; i++) finishOne(`first-${i}`); // a full batch: flushed, refused
    await history.flush();
    const failures = () =>
      lines().filter((line) => line.msg === 'could not write job run history; will retry').length;
    const afterFirst = failures();
    expect(afterFirst).toBeGreaterThanOrEqual(1);
    // 200 more finishes within the back-off (1 s): at most one more attempt, not one per finish.
    for (let i = 0; i < 200; i++) finishOne(`more-${i}`);
    await sleep(100);
    expect(failures() - afterFirst).toBeLessThanOrEqual(1);
    await down.close();
  });
});
