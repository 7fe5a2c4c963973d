// Archive a detached month to a gzip CSV in the export storage before it is dropped, and record
// the file's checksum in partition_archives. Rows are read through a server-side cursor in
// batches, so memory stays flat however large the month is; the storage writes to a temporary
// name and renames only when complete, so a crash leaves no half archive under the final key.
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';
import { InputError } from '../../core/errors.js';
import type { PartitionedTable } from '../../core/partitions.js';
import type { FileStorage } from '../../core/storage.js';
import { quoteIdent } from './sql-names.js';

const FETCH_ROWS = 5000;

export interface ArchiveResult {
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
  rowsByTenant: Map<string, number>;
}

export function archiveKey(table: PartitionedTable, partition: string): string {
  return `archive/${table}/${partition}.csv.gz`;
}

/** CSV the way PostgreSQL's COPY writes it: NULL is empty, an empty string is "". */
export function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '' || /[",\r\n]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

export async function archivePartition(
  conn: Db,
  storage: FileStorage,
  options: { table: PartitionedTable; partition: string; columns: string[] },
): Promise<ArchiveResult> {
  const { table, partition, columns } = options;
  const key = archiveKey(table, partition);
  const tenantIndex = columns.indexOf('tenant_id');
  const rowsByTenant = new Map<string, number>();
  let rows = 0;
  const select = columns.map((column) => `${quoteIdent(column)}::text`).join(', ');
  const stored = await storage.writeAtomically(key, async (out) => {
    const gzip = createGzip();
    const piped = pipeline(gzip, out);
    const write = async (text: string) => {
      if (!gzip.write(text)) await once(gzip, 'drain');
    };
    await conn.transaction().execute(async (trx) => {
      await sql
        .raw(`DECLARE archive_rows NO SCROLL CURSOR FOR SELECT ${select} FROM ${quoteIdent(partition)}`)
        .execute(trx);
      await write(`${columns.map(csvField).join(',')}\n`);
      for (;;) {
        const batch = await sql
          .raw<Record<string, string | null>>(`FETCH ${FETCH_ROWS} FROM archive_rows`)
          .execute(trx);
        if (batch.rows.length === 0) break;
        let text = '';
        for (const row of batch.rows) {
          const values = Object.values(row);
          text += `${values.map(csvField).join(',')}\n`;
          const tenant = tenantIndex >= 0 ? values[tenantIndex] : null;
          if (tenant) rowsByTenant.set(tenant, (rowsByTenant.get(tenant) ?? 0) + 1);
        }
        rows += batch.rows.length;
        await write(text);
      }
    });
    gzip.end();
    await piped;
  });
  return { key, rows, bytes: stored.size, sha256: stored.sha256, rowsByTenant };
}

/** Fail before anything is detached when the archive cannot be written (bad input, not retried). */
export async function assertArchiveWritable(storage: FileStorage, where: string): Promise<void> {
  try {
    await storage.writeAtomically('archive/.write-check', async (out) => {
      out.end('ok\n');
    });
    await storage.remove('archive/.write-check');
  } catch (error) {
    throw new InputError(
      `archive storage ${where} is not writable (${(error as Error).message}); fix its permissions or point PARTITION_ARCHIVE_DIR elsewhere`,
      'PARTITION_ARCHIVE_DIR',
      { cause: error },
    );
  }
}
