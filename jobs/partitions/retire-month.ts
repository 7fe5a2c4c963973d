// Retiring months past retention: detach, optionally archive, then drop.
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
import { isLockTimeout, runShortDdl, type ShortLockOptions } from './locks.js';
import { quoteIdent } from './sql-names.js';

export interface RetiredMonth {
  name: string;
  rows: number;
  rowsByTenant: Record<string, number>;
  archive?: { key: string; bytes: number; sha256: string };
  /** Counts come from planner statistics, not a scan. */
  estimated?: true;
}

/** Step 1, one short transaction per month: take the month out of the parent. */
export async function detachMonth(
  conn: Db,
  options: { table: PartitionedTable; partition: string; hasDefault: boolean; locks: ShortLockOptions },
): Promise<{ done: true } | { done: false; reason: string }> {
  const { table, partition, locks } = options;
  if (!options.hasDefault) return detachConcurrently(conn, table, partition, locks);
  return runShortDdl(conn, locks, [
    `ALTER TABLE ${quoteIdent(table)} DETACH PARTITION ${quoteIdent(partition)}`,
  ]);
}

/**
 * Step 2, on the detached table (nobody else uses it any more): archive it when configured, and
 * count its rows per tenant for the report and the tenants' audit entries (the archive pass counts
 * as it reads; otherwise one scan, served by the (tenant_id, created_at) index where it helps).
 */
export async function describeDetached(
  conn: Db,
  options: {
    table: PartitionedTable;
    partition: MonthlyPartition;
    columns: string[];
    archive: FileStorage | null;
    clock: Clock;
    /** false: planner estimates (no scan) where statistics cover the month; see AUDIT_EXACT_DROP_COUNTS. */
    exactCounts: boolean;
    /** Exact counts already taken (trigger-kept month counts, or countRowsByTenant for several months). */
    counted?: Map<string, Record<string, number>>;
  },
): Promise<RetiredMonth> {
  const { table, partition } = options;
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
    const exact = options.counted?.get(partition.name);
    const estimated = exact || options.exactCounts ? null : await estimateRowsByTenant(conn, partition.name);
    if (estimated) {
      const rows = Object.values(estimated).reduce((sum, count) => sum + count, 0);
      return { name: partition.name, rows, rowsByTenant: estimated, estimated: true };
    }
    rowsByTenant = exact ?? (await countRowsByTenant(conn, [partition.name])).get(partition.name)!;
  }
  const rows = Object.values(rowsByTenant).reduce((sum, count) => sum + count, 0);
  return archive
    ? { name: partition.name, rows, rowsByTenant, archive }
    : { name: partition.name, rows, rowsByTenant };
}

/** Exact per-tenant row counts of several detached months in one scan-per-month query. */
export async function countRowsByTenant(
  conn: Db,
  partitions: string[],
): Promise<Map<string, Record<string, number>>> {
  const counted = new Map<string, Record<string, number>>(partitions.map((name) => [name, {}]));
  if (partitions.length === 0) return counted;
  const union = partitions
    .map((name) => `SELECT ${quoteLiteral(name)} AS part, tenant_id FROM ${quoteIdent(name)}`)
    .join(' UNION ALL ');
  const { rows } = await sql
    .raw<{ part: string; tenant_id: string; rows: number }>(
      `SELECT part, tenant_id::text AS tenant_id, count(*) AS rows FROM (${union}) months GROUP BY 1, 2`,
    )
    .execute(conn);
  for (const row of rows) counted.get(row.part)![row.tenant_id] = row.rows;
  return counted;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Per-tenant row counts from the planner's statistics (row estimate times each tenant's share in
 * the most-common-values list), with no scan: a closed month has been analysed by autovacuum long
 * before it expires. null when the statistics do not cover every row (never analysed, or more
 * tenants than the statistics target keeps), and the caller counts exactly instead.
 */
async function estimateRowsByTenant(conn: Db, partition: string): Promise<Record<string, number> | null> {
  const { rows } = await sql<{ reltuples: number; tenants: string[] | null; freqs: number[] | null }>`
    SELECT c.reltuples::float8 AS reltuples,
           s.most_common_vals::text::text[] AS tenants,
           s.most_common_freqs::float8[] AS freqs
    FROM pg_class c
    LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = c.relname AND s.attname = 'tenant_id'
    WHERE c.oid = ${partition}::regclass`.execute(conn);
  const stats = rows[0];
  if (!stats || stats.reltuples < 0) return null;
  if (stats.reltuples === 0) return {};
  if (!stats.tenants || !stats.freqs) return null;
  const covered = stats.freqs.reduce((sum, freq) => sum + freq, 0);
  if (covered < 0.999) return null;
  return Object.fromEntries(
    stats.tenants.map((tenant, i) => [tenant, Math.round(stats.reltuples * stats.freqs![i]!)]),
  );
}

/**
 * Step 3: drop every detached month in one transaction. No reader reaches a detached table through
 * the parent, and one commit (file unlinks plus one WAL flush) replaces one per month. `before`
 * (the month-count fold) rides in the same round trip and commit, ahead of the DROP: the DROP
 * takes ACCESS EXCLUSIVE on `tenants` (it removes the foreign-key triggers the detach gave each
 * month), which every insert's foreign-key check waits for, so nothing else runs while it is held.
 * The files are unlinked after the commit has released the locks: the long part of a drop (the
 * kernel freeing the files' blocks) keeps nobody waiting.
 */
export async function dropDetached(
  conn: Db,
  names: string[],
  locks: ShortLockOptions,
  before: string[] = [],
): Promise<{ done: true } | { done: false; reason: string }> {
  const drop = names.length > 0 ? [`DROP TABLE IF EXISTS ${names.map(quoteIdent).join(', ')}`] : [];
  if (drop.length + before.length === 0) return { done: true };
  return runShortDdl(conn, locks, [...before, ...drop]);
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
