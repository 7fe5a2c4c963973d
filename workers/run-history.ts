// Job run history in PostgreSQL (job_runs): one row per attempt, so history survives Redis
// retention and can be queried with SQL. Rows are buffered and written as one multi-row upsert
// every RUN_HISTORY_FLUSH_MS (or RUN_HISTORY_BATCH finished rows): at concurrency 50 a row per job
// per round trip would cost more than the jobs themselves.
//
// An attempt is one RunRecord object from start() to finish(), held in identity Sets (no string
// keys per job: they cost as much as the rest of the engine's bookkeeping). A run that finishes
// before its 'running' row was due is written once, finished. A run still going after a flush
// window is written as 'running' first, so a worker killed mid-job leaves a trace.
import { sql } from 'kysely';
import type { Db } from '../core/db.js';
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
  readonly #log: Logger;
  readonly #flushMs: number;
  readonly #batch: number;
  /** Started, not finished, no 'running' row written yet; with performance.now() at start. */
  #running = new Map<RunRecord, number>();
  /** Finished, not written yet. */
  #finished = new Set<RunRecord>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(db: Db, log: Logger, options: { flushMs: number; batch: number }) {
    this.#db = db;
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
    if (this.#finished.size >= this.#batch) void this.flush();
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
    const rows = [...this.#finished];
    this.#finished = new Set();
    const due = performance.now() - this.#flushMs;
    for (const [run, startedAt] of this.#running) {
      if (!all && startedAt > due) continue;
      rows.push(run);
      this.#running.delete(run);
    }
    // Young attempts left behind get their 'running' row from the next window's flush.
    if (this.#running.size > 0) this.#arm(this.#flushMs);
    if (rows.length === 0) return this.#flushing;
    // Serialised now, not when the write's turn comes: the objects change when attempts finish.
    const json = serialise(rows);
    this.#flushing = this.#flushing.then(() => this.#write(rows, json));
    return this.#flushing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.flush(true);
  }

  #arm(ms: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => void this.flush(), ms);
    this.#timer.unref();
  }

  async #write(rows: RunRecord[], json: string): Promise<void> {
    try {
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
    } catch (error) {
      // History must not take the queue down with it: keep the rows for the next flush (bounded,
      // so a long outage loses the oldest history rather than the process's memory).
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
        this.#arm(Math.max(this.#flushMs, 1000));
      }
    }
  }
}

/**
 * One JSON parameter expanded by jsonb_array_elements: a 500-row VALUES list with 6,000 bind
 * parameters costs the worker's event loop more than the rows are worth. Positional arrays and
 * epoch milliseconds instead of named fields and ISO strings halve the bytes to build, send and
 * parse (and skip Date#toISOString); duration_ms is computed by the database.
 */
function serialise(rows: RunRecord[]): string {
  return JSON.stringify(
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
  );
}
