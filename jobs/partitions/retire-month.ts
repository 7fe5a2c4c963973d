// Retiring one month past retention: detach, optionally archive, then drop.
//
// DETACH ... CONCURRENTLY would avoid the ACCESS EXCLUSIVE lock on the parent, but PostgreSQL
// refuses it while the parent has a default partition, and both of ours do (it catches the
// dates nobody expected). So the plain DETACH runs in a short transaction under lock_timeout:
// it holds the lock for milliseconds (a catalog change, no scan), and when a long report keeps
// it from getting the lock it gives up after ~100 ms and retries instead of queueing the school's
// inserts behind it. Without a default partition the CONCURRENTLY form is used.
// Every step is safe to repeat: a crash after the detach leaves a table of our naming outside the
// parent, which the next run finds and finishes (archive again, overwriting, then drop).
import { sql } from 'kysely';
import type { Clock } from '../../core/clock.js';
import type { Db } from '../../core/db.js';
import { InfraError } from '../../core/errors.js';
import { type PartitionedTable, partitionBounds } from '../../core/partitions.js';
import type { FileStorage } from '../../core/storage.js';
import { archivePartition } from './archive.js';
import type { MonthlyPartition } from './catalog.js';
import { isLockTimeout, type ShortLockOptions, withShortLocks } from './locks.js';
import { quoteIdent } from './sql-names.js';

export interface RetiredMonth {
  name: string;
  rows: number;
  rowsByTenant: Record<string, number>;
  archive?: { key: string; bytes: number; sha256: string };
}

export type RetireOutcome = { retired: RetiredMonth } | { deferred: string };

export async function retireMonth(
  conn: Db,
  options: {
    table: PartitionedTable;
    partition: MonthlyPartition;
    hasDefault: boolean;
    columns: string[];
    archive: FileStorage | null;
    locks: ShortLockOptions;
    clock: Clock;
  },
): Promise<RetireOutcome> {
  const { table, partition, locks } = options;
  const child = quoteIdent(partition.name);
  if (partition.attached) {
    const detached = options.hasDefault
      ? await withShortLocks(conn, locks, (trx) =>
          sql.raw(`ALTER TABLE ${quoteIdent(table)} DETACH PARTITION ${child}`).execute(trx),
        )
      : await detachConcurrently(conn, table, partition.name, locks);
    if (!detached.done) return { deferred: `detach ${partition.name}: ${detached.reason}` };
  }

  let rowsByTenant: Record<string, number>;
  let archive: RetiredMonth['archive'];
  if (options.archive) {
    const written = await archivePartition(conn, options.archive, {
      table,
      partition: partition.name,
      columns: options.columns,
    });
    const { from, to } = partitionBounds(table, partition.month);
    await sql`
      INSERT INTO partition_archives (table_name, partition_name, range_from, range_to, storage_key, row_count,
                                      byte_size, checksum_sha256, archived_at)
      VALUES (${table}, ${partition.name}, ${from}, ${to}, ${written.key}, ${written.rows}, ${written.bytes},
              ${written.sha256}, ${options.clock.now()})
      ON CONFLICT (partition_name) DO UPDATE SET
        storage_key = EXCLUDED.storage_key, row_count = EXCLUDED.row_count, byte_size = EXCLUDED.byte_size,
        checksum_sha256 = EXCLUDED.checksum_sha256, archived_at = EXCLUDED.archived_at`.execute(conn);
    rowsByTenant = Object.fromEntries(written.rowsByTenant);
    archive = { key: written.key, bytes: written.bytes, sha256: written.sha256 };
  } else {
    const counts = await sql<{ tenant_id: string; rows: number }>`
      SELECT tenant_id::text AS tenant_id, count(*) AS rows FROM ${sql.table(partition.name)} GROUP BY 1`.execute(
      conn,
    );
    rowsByTenant = Object.fromEntries(counts.rows.map((row) => [row.tenant_id, row.rows]));
  }

  // Nobody reads a detached table through the parent any more; the timeout only guards against a
  // session that opened it directly.
  const dropped = await withShortLocks(conn, locks, (trx) => sql.raw(`DROP TABLE ${child}`).execute(trx));
  if (!dropped.done) return { deferred: `drop ${partition.name}: ${dropped.reason}` };
  const rows = Object.values(rowsByTenant).reduce((sum, count) => sum + count, 0);
  return { retired: { name: partition.name, rows, rowsByTenant, archive } };
}

/** DETACH CONCURRENTLY cannot run inside a transaction, so the timeout is set on the session. */
async function detachConcurrently(
  conn: Db,
  table: PartitionedTable,
  partition: string,
  locks: ShortLockOptions,
): Promise<{ done: true } | { done: false; reason: string }> {
  let reason = '';
  for (let attempt = 1; attempt <= locks.attempts; attempt++) {
    try {
      await sql`SELECT set_config('lock_timeout', ${`${locks.lockTimeoutMs}ms`}, false)`.execute(conn);
      await sql
        .raw(`ALTER TABLE ${quoteIdent(table)} DETACH PARTITION ${quoteIdent(partition)} CONCURRENTLY`)
        .execute(conn);
      return { done: true };
    } catch (error) {
      if (!isLockTimeout(error)) {
        // An interrupted concurrent detach leaves the partition "pending"; FINALIZE completes it.
        if (/pending/i.test((error as Error).message)) {
          await sql
            .raw(`ALTER TABLE ${quoteIdent(table)} DETACH PARTITION ${quoteIdent(partition)} FINALIZE`)
            .execute(conn);
          return { done: true };
        }
        throw new InfraError(`cannot detach ${partition}: ${(error as Error).message}`, { cause: error });
      }
      reason = (error as Error).message;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(locks.backoffMs * 2 ** (attempt - 1), 60_000)),
      );
    } finally {
      await sql`SELECT set_config('lock_timeout', '0', false)`.execute(conn);
    }
  }
  return { done: false, reason };
}
