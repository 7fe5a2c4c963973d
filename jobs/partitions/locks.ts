// The two lock disciplines maintenance follows (ARCHITECTURE: "short lock_timeouts with retry,
// advisory locks so two runs of one job never overlap").
//
// - A session advisory lock on one pinned connection for the whole run: a second rotation (another
//   worker, a manual `run`) sees it taken and returns at once instead of racing on the same DDL.
//   It is released when the run ends, or by PostgreSQL when the connection dies with a crashed run.
// - Every DDL step runs in its own short transaction with a small lock_timeout. DDL that waits for
//   a lock sits in the lock queue, and every insert that arrives after it queues behind it: with
//   no timeout, one long report query would stall the school's inserts for as long as it runs
//   (the classic pg_partman outage). Giving up after ~100 ms and retrying later bounds that stall.
import { setTimeout as delay } from 'node:timers/promises';
import { sql, type Transaction } from 'kysely';
import type { Database } from '../../core/database-types.js';
import type { Db } from '../../core/db.js';

/** Advisory lock keys (class 5005 = this issue's maintenance jobs). */
export const ADVISORY_KEYS = {
  /** Partition DDL on attendance and audit_logs: rotation, and cleanup's partition fast path. */
  partitionDdl: [5005, 1],
  /** The audit-cleanup run as a whole. */
  auditCleanup: [5005, 2],
} as const satisfies Record<string, readonly [number, number]>;

export type AdvisoryKey = (typeof ADVISORY_KEYS)[keyof typeof ADVISORY_KEYS];

export async function tryAdvisoryLock(conn: Db, [classId, objId]: AdvisoryKey): Promise<boolean> {
  const { rows } = await sql<{
    locked: boolean;
  }>`SELECT pg_try_advisory_lock(${classId}::int, ${objId}::int) AS locked`.execute(conn);
  return rows[0]?.locked === true;
}

export async function advisoryUnlock(conn: Db, [classId, objId]: AdvisoryKey): Promise<void> {
  await sql`SELECT pg_advisory_unlock(${classId}::int, ${objId}::int)`.execute(conn);
}

/**
 * Run `work` on one pinned connection holding the advisory lock `key`; `undefined` when another
 * session holds it (the caller reports "skipped").
 */
export async function withAdvisoryLock<T>(
  db: Db,
  key: AdvisoryKey,
  work: (conn: Db) => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  return db.connection().execute(async (conn) => {
    if (!(await tryAdvisoryLock(conn, key))) return { acquired: false as const };
    try {
      return { acquired: true as const, value: await work(conn) };
    } finally {
      await advisoryUnlock(conn, key).catch(() => {});
    }
  });
}

export interface ShortLockOptions {
  lockTimeoutMs: number;
  attempts: number;
  backoffMs: number;
  signal?: AbortSignal;
  onRetry?: (attempt: number, delayMs: number) => void;
}

export type ShortLockResult<T> =
  | { done: true; value: T; attempts: number }
  | { done: false; attempts: number; reason: string };

const LOCK_NOT_AVAILABLE = '55P03';

export function isLockTimeout(error: unknown): boolean {
  return (error as { code?: string })?.code === LOCK_NOT_AVAILABLE;
}

/**
 * One transaction with `SET LOCAL lock_timeout`; a lock timeout rolls it back and retries after an
 * exponential backoff. When every attempt timed out the step is deferred, not failed: the nightly
 * cycle goes on and the next run (or the re-enqueued retry) picks the step up.
 */
export async function withShortLocks<T>(
  conn: Db,
  options: ShortLockOptions,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<ShortLockResult<T>> {
  return retryOnLockTimeout(options, () =>
    conn.transaction().execute(async (trx) => {
      // synchronous_commit off: every step is idempotent and found again by the next run, so a
      // commit lost in a crash costs nothing, and not waiting for the WAL flush shortens each hold.
      await sql`SELECT set_config('lock_timeout', ${`${options.lockTimeoutMs}ms`}, true),
                       set_config('synchronous_commit', 'off', true)`.execute(trx);
      return work(trx);
    }),
  );
}

/**
 * Waits ms, or less if the job is stopped. Node's promise timer removes its abort listener when it
 * fires: ctx.signal is shared by every job of a worker for its whole life (workers/worker.ts), so a
 * listener left behind per retry would pile up.
 */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}

/**
 * The same discipline in one round trip: a multi-statement simple query is one implicit
 * transaction, so `SET LOCAL lock_timeout` plus the DDL commit or roll back together. For steps
 * that need no client-side logic between statements (detach, drop, attaching an empty month).
 */
export async function runShortDdl(
  conn: Db,
  options: ShortLockOptions,
  statements: string[],
): Promise<{ done: true; attempts: number } | { done: false; attempts: number; reason: string }> {
  const text = [
    `SET LOCAL lock_timeout = '${Math.trunc(options.lockTimeoutMs)}ms'`,
    'SET LOCAL synchronous_commit = off',
    ...statements,
  ].join(';\n');
  const result = await retryOnLockTimeout(options, () => sql.raw(text).execute(conn));
  return result.done ? { done: true, attempts: result.attempts } : result;
}

async function retryOnLockTimeout<T>(
  options: ShortLockOptions,
  attemptOnce: () => Promise<T>,
): Promise<ShortLockResult<T>> {
  let lastReason = '';
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      return { done: true, value: await attemptOnce(), attempts: attempt };
    } catch (error) {
      if (!isLockTimeout(error)) throw error;
      lastReason = (error as Error).message;
      if (attempt === options.attempts || options.signal?.aborted) break;
      const delayMs = Math.min(options.backoffMs * 2 ** (attempt - 1), 60_000);
      options.onRetry?.(attempt, delayMs);
      await sleep(delayMs, options.signal);
    }
  }
  return { done: false, attempts: options.attempts, reason: lastReason };
}
