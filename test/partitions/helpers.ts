// Small helpers shared by the partition and retention tests.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';
import { parsePayload } from '../../jobs/define-job.js';
import { partitionRotation, type RotationResult } from '../../jobs/partition-rotation.js';
import { testJobContext } from '../helpers/context.js';

export const FAST_LOCKS = {
  PARTITION_LOCK_TIMEOUT_MS: '50',
  PARTITION_LOCK_ATTEMPTS: '3',
  PARTITION_RETRY_BACKOFF_MS: '20',
};

export async function partitionsOf(db: Db, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = ${table}::regclass ORDER BY 1`.execute(db);
  return rows.map((row) => row.name);
}

export async function createTenant(
  db: Db,
  slug: string,
  settings: Record<string, unknown> = {},
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    INSERT INTO tenants (slug, name, settings) VALUES (${slug}, ${slug}, ${JSON.stringify(settings)}::jsonb)
    RETURNING id`.execute(db);
  return rows[0]!.id;
}

/** `count` audit rows for a tenant, spread over [from, to). */
export async function insertAudit(
  db: Db,
  tenantId: string,
  from: string,
  to: string,
  count: number,
): Promise<void> {
  await sql`
    INSERT INTO audit_logs (tenant_id, created_at, action, resource_type)
    SELECT ${tenantId}::uuid,
           ${from}::timestamptz + (${to}::timestamptz - ${from}::timestamptz) * (g - 1) / ${count}::int,
           'update', 'attendance'
    FROM generate_series(1, ${count}::int) g`.execute(db);
}

export async function countRows(db: Db, table: string, where = sql`true`): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE ${where}`.execute(db);
  return rows[0]!.n;
}

export function rotate(
  db: Db,
  options: { now: string; env?: Record<string, string>; payload?: unknown; signal?: AbortSignal },
) {
  const ctx = testJobContext(db, {
    now: options.now,
    env: { ...FAST_LOCKS, ...options.env },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const run = partitionRotation.run(
    parsePayload(partitionRotation, options.payload ?? {}),
    ctx,
  ) as Promise<RotationResult>;
  return { ctx, run };
}
