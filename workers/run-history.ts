// Job run history in PostgreSQL (job_runs): one row per attempt, so history survives Redis
// retention and can be queried with SQL. Rows are buffered and written every RUN_HISTORY_FLUSH_MS
// (or RUN_HISTORY_BATCH finished rows): at concurrency 50 a row per job per round trip would cost
// more than the jobs themselves, and the writes share the cores with Redis and the workers.
//
// An attempt is one RunRecord object from start() to finish(), held in identity Sets (no string
// keys per job: they cost as much as the rest of the engine's bookkeeping). A run that finishes
// before its 'running' row was due has no row yet: it is appended with COPY, the cheapest write
// PostgreSQL has. A run still going after a flush window is written as 'running' first, so a
// worker killed mid-job leaves a trace, and its outcome then updates that row (an upsert).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DatabaseHandle, Db } from '../core/db.js';
import type { Logger } from '../core/logger.js';

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export interface RunRecord {
  jobId: string;
  kind: string;
  tenantId?: string | null;
  attempt: number;
  status: RunStatus;
  /** Already redacted by the caller (definition.personalData). */
  payload?: unknown;
  result?: unknown;
  error?: string | null;
  worker?: string;
  startedAt: Date;
  finishedAt?: Date | null;
}

const MAX_BUFFERED = 100_000;

export class RunHistory {
  readonly #db: Db;
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly #flushMs: number;
  readonly #batch: number;
  /** Started, not finished, no 'running' row written yet; with performance.now() at start. */
  #running = new Map<RunRecord, number>();
  /** Attempts whose 'running' row was written (or is being written): their outcome must update it. */
  #hasRow = new WeakSet<RunRecord>();
  /** Finished, not written yet (including rows kept from a failed write). */
  #finished = new Set<RunRecord>();
  /** Attempts finished since the last flush: only these count towards a batch. */
  #finishedSinceFlush = 0;
  /** After a failed write, no flush before this (performance.now()): kept rows wait for it. */
  #retryNotBefore = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    database: Pick<DatabaseHandle, 'db' | 'pool'>,
    log: Logger,
    options: { flushMs: number; batch: number },
  ) {
    this.#db = database.db;
    this.#pool = database.pool;
    this.#log = log;
    this.#flushMs = options.flushMs;
    this.#batch = options.batch;
  }

  /** An attempt began (status 'running'); pass the same object to finish(). */
  start(run: RunRecord): void {
    this.#running.set(run, performance.now());
    this.#arm(this.#flushMs);
  }

  /** The attempt ended: set its status, finishedAt and result or error on the object first. */
  finish(run: RunRecord): void {
    this.#running.delete(run);
    this.#finished.add(run);
    // Rows kept from a failed write do not count: while the database is down, a full buffer would
    // otherwise be serialised and sent again on every job that finishes.
    if (++this.#finishedSinceFlush >= this.#batch && performance.now() >= this.#retryNotBefore)
      void this.flush();
    else this.#arm(this.#flushMs);
  }

  /**
   * Write what is due: every finished attempt, and a 'running' row for attempts that have been
   * going for at least one flush window (younger ones will most likely finish before the next
   * flush and then need one row instead of an insert and an update). `all` writes every running
   * attempt (on close).
   */
  flush(all = false): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#finishedSinceFlush = 0;
    const appended: RunRecord[] = [];
    const upserted: RunRecord[] = [];
    for (const run of this.#finished) (this.#hasRow.has(run) ? upserted : appended).push(run);
    this.#finished = new Set();
    const due = performance.now() - this.#flushMs;
    for (const [run, startedAt] of this.#running) {
      if (!all && startedAt > due) continue;
      upserted.push(run);
      this.#hasRow.add(run);
      this.#running.delete(run);
    }
    // Young attempts left behind get their 'running' row from the next window's flush.
    if (this.#running.size > 0) this.#arm(this.#flushMs);
    if (appended.length === 0 && upserted.length === 0) return this.#flushing;
    // Serialised now, not when the write's turn comes: the objects change when attempts finish.
    const batch: Batch = {
      appended,
      upserted,
      copyText: appended.length > 0 ? copyText(appended) : '',
      upsertJson: upserted.length > 0 ? positionalJson(upserted) : '',
    };
    this.#flushing = this.#flushing.then(() => this.#write(batch));
    return this.#flushing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.flush(true);
  }

  #arm(ms: number): void {
    if (this.#timer || this.#closed) return;
    const wait = Math.max(ms, this.#retryNotBefore - performance.now());
    this.#timer = setTimeout(() => void this.flush(), wait);
    this.#timer.unref();
  }

  async #write(batch: Batch): Promise<void> {
    try {
      try {
        await this.#send(batch);
      } catch (error) {
        if (!isDataError(error)) throw error;
        // A value PostgreSQL refuses (one no check here foresaw) fails its whole batch, and would
        // on every retry, so history would stop: write the rows one by one, drop only those refused.
        await this.#sendEach([...batch.upserted, ...batch.appended]);
      }
    } catch (error) {
      // History must not take the queue down with it: keep the rows for the next flush (bounded,
      // so a long outage loses the oldest history rather than the process's memory).
      const rows = [...batch.upserted, ...batch.appended];
      this.#log.warn(
        { err: { message: (error as Error).message }, rows: rows.length },
        'could not write job run history; will retry',
      );
      if (this.#running.size + this.#finished.size + rows.length <= MAX_BUFFERED) {
        for (const run of rows) {
          // The object holds the attempt's latest state: a 'running' row that has finished since is
          // already in #finished (a Set, so never twice), and one still running goes back to wait.
          if (run.status !== 'running') this.#finished.add(run);
          else if (!this.#running.has(run)) this.#running.set(run, 0);
        }
      }
      const backOff = Math.max(this.#flushMs, 1000);
      this.#retryNotBefore = performance.now() + backOff;
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#arm(backOff);
    }
  }

  async #send(batch: Batch): Promise<void> {
    if (batch.upsertJson) await this.#upsert(batch.upsertJson);
    if (!batch.copyText) return;
    try {
      await this.#append(batch.copyText);
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      // One of these attempts has a row after all: another worker's 'running' row for a stalled
      // attempt replayed here, or an earlier append whose commit was not acknowledged. The upsert
      // settles each row (a finished outcome wins).
      await this.#upsert(positionalJson(batch.appended));
    }
  }

  async #sendEach(rows: RunRecord[]): Promise<void> {
    for (const run of rows) {
      try {
        await this.#upsert(positionalJson([run]));
      } catch (error) {
        if (!isDataError(error)) throw error;
        this.#log.error(
          {
            kind: run.kind,
            jobId: run.jobId,
            attempt: run.attempt,
            err: { message: (error as Error).message },
          },
          'PostgreSQL refused this job run history row; it is dropped',
        );
      }
    }
  }

  /**
   * Attempts with no row yet, appended with COPY: half the server's work of an INSERT ... SELECT
   * with ON CONFLICT (rows go in through the multi-insert path, no conflict check, no JSON
   * expansion), and at thousands of jobs a second that work shares the cores with Redis and Node.
   */
  async #append(text: string): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await pipeline(Readable.from([text]), client.query(copyFrom(COPY_JOB_RUNS)));
      client.release();
    } catch (error) {
      // A COPY that failed part-way leaves the connection in an unknown state: do not reuse it.
      client.release(error as Error);
      throw error;
    }
  }

  /** Rows that may exist already ('running' rows and their outcomes): one multi-row upsert. */
  async #upsert(json: string): Promise<void> {
    await sql`
      INSERT INTO job_runs (job_id, kind, tenant_id, attempt, status, payload, result, error, worker,
                            started_at, finished_at, duration_ms)
      SELECT r->>0, r->>1, (r->>2)::uuid, (r->>3)::integer, r->>4,
             nullif(r->5, 'null'), nullif(r->6, 'null'), r->>7, r->>8,
             timestamptz 'epoch' + (r->>9)::bigint * interval '1 millisecond',
             timestamptz 'epoch' + (r->>10)::bigint * interval '1 millisecond',
             ((r->>10)::bigint - (r->>9)::bigint)::integer
      FROM jsonb_array_elements(${json}::jsonb) AS r
      ON CONFLICT (kind, job_id, attempt) DO UPDATE SET
        status = excluded.status, payload = excluded.payload, result = excluded.result,
        error = excluded.error, worker = excluded.worker, started_at = excluded.started_at,
        finished_at = excluded.finished_at, duration_ms = excluded.duration_ms
      -- A replayed 'running' row (a stalled attempt picked up again) must not hide an outcome
      -- already recorded; a finished row always wins.
      WHERE job_runs.status = 'running' OR excluded.status <> 'running'
    `.execute(this.#db);
  }
}

interface Batch {
  appended: RunRecord[];
  upserted: RunRecord[];
  copyText: string;
  upsertJson: string;
}

const UNIQUE_VIOLATION = '23505';

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the rows, not the server. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
const COPY_JOB_RUNS = `COPY job_runs (job_id, kind, tenant_id, attempt, status, payload, result, error,
  worker, started_at, finished_at, duration_ms) FROM STDIN`;

/**
 * COPY's text format: tab-separated fields, \N for NULL, backslash escapes. Built for speed (it
 * runs for every job): a kind name is kebab-case by definition (jobs/define-job.ts) and needs no
 * escaping, JSON never holds a raw tab or newline, and timestamps share their second's text.
 */
function copyText(rows: RunRecord[]): string {
  let text = '';
  for (const run of rows) {
    const started = run.startedAt.getTime();
    const finished = run.finishedAt ? run.finishedAt.getTime() : null;
    text +=
      `${textField(run.jobId)}\t${run.kind}\t${run.tenantId ?? NULL}\t${run.attempt}\t${run.status}\t` +
      `${jsonField(run.payload)}\t${jsonField(run.result)}\t${textField(run.error)}\t` +
      `${textField(run.worker)}\t${timestampText(started)}\t` +
      `${finished === null ? `${NULL}\t${NULL}` : `${timestampText(finished)}\t${finished - started}`}\n`;
  }
  return text;
}

const NULL = '\\N';
const COPY_SPECIAL = /[\\\t\n\r\0]/;
const COPY_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '',
};

function textField(value: string | null | undefined): string {
  if (value == null) return NULL;
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r\0]/g, (c) => COPY_ESCAPES[c]!) : value;
}

function jsonField(value: unknown): string {
  const json = value == null ? undefined : storableJson(value);
  if (json === undefined) return NULL;
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

let cachedSecond = Number.NaN;
let cachedSecondText = '';

/** ISO 8601 in UTC with milliseconds, as Date#toISOString, at a fraction of its cost. */
function timestampText(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondText = new Date(second * 1000).toISOString().slice(0, 20); // "2026-12-06T11:05:47."
  }
  const millis = ms - second * 1000;
  return `${cachedSecondText}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/**
 * The upsert's one JSON parameter, expanded by jsonb_array_elements: a 500-row VALUES list with
 * 6,000 bind parameters costs the worker's event loop more than the rows are worth. Positional
 * arrays and epoch milliseconds keep it small; duration_ms is computed by the database.
 */
function positionalJson(rows: RunRecord[]): string {
  return storableJson(
    rows.map((run) => [
      run.jobId,
      run.kind,
      run.tenantId ?? null,
      run.attempt,
      run.status,
      run.payload ?? null,
      run.result ?? null,
      run.error ?? null,
      run.worker ?? null,
      run.startedAt.getTime(),
      run.status === 'running' ? null : (run.finishedAt?.getTime() ?? null),
    ]),
  ) as string;
}

/**
 * JSON that jsonb accepts. It cannot hold U+0000 or a lone UTF-16 surrogate (JSON.stringify writes
 * both as \u escapes), and one such value would fail its whole batch on every retry: NULs are
 * dropped and lone surrogates become U+FFFD, in keys and values alike. Checked on the finished
 * text, so the common case costs one scan. An escape counts only where its backslash is not
 * itself escaped: JSON "\\u0000" is a backslash and the text "u0000".
 */
function storableJson(value: unknown): string | undefined {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined || !json.includes('\\u')) return json;
  return json.replace(JSON_UNSTORABLE_ESCAPE, (_match, backslashes: string, code: string) =>
    code === '0000' ? backslashes : `${backslashes}\\ufffd`,
  );
}

// JSON.stringify keeps well-formed surrogate pairs as they are, so any surrogate escape is a lone one.
const JSON_UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(0000|d[89a-f][0-9a-f]{2})/g;
