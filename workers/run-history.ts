// Job run history in PostgreSQL (job_runs): one row per attempt, so history survives Redis
// retention and can be queried with SQL. Rows are buffered and written as one multi-row upsert
// every RUN_HISTORY_FLUSH_MS (or RUN_HISTORY_BATCH rows): at concurrency 50 a row per job per
// round trip would cost more than the jobs themselves. A run that starts and finishes within one
// flush window is written once, already finished; a long run shows as 'running' first.
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
  #buffer = new Map<string, RunRecord>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(db: Db, log: Logger, options: { flushMs: number; batch: number }) {
    this.#db = db;
    this.#log = log;
    this.#flushMs = options.flushMs;
    this.#batch = options.batch;
  }

  record(run: RunRecord): void {
    const key = `${run.kind}\u0000${run.jobId}\u0000${run.attempt}`;
    const earlier = this.#buffer.get(key);
    // A finished record replaces a buffered 'running' one; never the other way round.
    if (earlier && earlier.status !== 'running' && run.status === 'running') return;
    this.#buffer.set(key, run);
    if (this.#buffer.size >= this.#batch) void this.flush();
    else if (!this.#timer && !this.#closed) {
      this.#timer = setTimeout(() => void this.flush(), this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Write everything buffered so far. Flushes run one at a time, in order. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const rows = [...this.#buffer.values()];
    this.#buffer = new Map();
    if (rows.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(() => this.#write(rows));
    return this.#flushing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  async #write(rows: RunRecord[]): Promise<void> {
    try {
      // One JSON parameter expanded by jsonb_to_recordset: building a 500-row VALUES list with
      // 6,000 bind parameters costs the worker's event loop more than the rows are worth.
      const json = JSON.stringify(
        rows.map((run) => ({
          job_id: run.jobId,
          kind: run.kind,
          tenant_id: run.tenantId ?? null,
          attempt: run.attempt,
          status: run.status,
          payload: run.payload ?? null,
          result: run.result ?? null,
          error: run.error ?? null,
          worker: run.worker ?? null,
          started_at: run.startedAt,
          finished_at: run.finishedAt ?? null,
          duration_ms: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
        })),
      );
      await sql`
        INSERT INTO job_runs (job_id, kind, tenant_id, attempt, status, payload, result, error, worker,
                              started_at, finished_at, duration_ms)
        SELECT job_id, kind, tenant_id, attempt, status, payload, result, error, worker,
               started_at, finished_at, duration_ms
        FROM jsonb_to_recordset(${json}::jsonb) AS r(
          job_id varchar, kind varchar, tenant_id uuid, attempt integer, status varchar, payload jsonb,
          result jsonb, error text, worker varchar, started_at timestamptz, finished_at timestamptz,
          duration_ms integer)
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
      if (this.#buffer.size + rows.length <= MAX_BUFFERED) {
        for (const run of rows) {
          const key = `${run.kind}\u0000${run.jobId}\u0000${run.attempt}`;
          if (!this.#buffer.has(key)) this.#buffer.set(key, run);
        }
        if (!this.#timer && !this.#closed) {
          this.#timer = setTimeout(() => void this.flush(), Math.max(this.#flushMs, 1000));
          this.#timer.unref();
        }
      }
    }
  }
}
