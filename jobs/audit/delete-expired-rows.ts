// Rows past a tenant's retention in partitions that cannot be dropped whole (a newer month, or
// one shared with a tenant keeping its rows longer) are deleted in small batches. Each batch is
// one statement, so its own transaction: locks are row locks held for milliseconds, a crash loses
// at most the batch in flight (rolled back, never half-applied), and the next run simply finds the
// remaining rows by the same predicate. Nothing is deleted twice and nothing needs a checkpoint.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';

export async function deleteExpiredAuditRows(
  db: Db,
  options: {
    tenantId: string;
    cutoff: Date;
    batchSize: number;
    signal: AbortSignal;
    onBatch?: (deleted: number) => Promise<void>;
  },
): Promise<{ deleted: number; complete: boolean }> {
  let deleted = 0;
  // Keyset walk: each batch starts where the last one ended, so it never re-reads the index
  // entries of rows already deleted (they stay in the index until VACUUM, and rescanning them
  // from the start every batch would make the loop quadratic).
  let from: Date | string = '-infinity';
  for (;;) {
    if (options.signal.aborted) return { deleted, complete: false };
    // The (tenant_id, created_at) index finds the batch in order; the same range on the outer
    // DELETE lets PostgreSQL prune every partition outside it.
    const { rows } = await sql<{ n: number; last: Date | null }>`
      WITH doomed AS (
        SELECT id, created_at FROM audit_logs
        WHERE tenant_id = ${options.tenantId} AND created_at >= ${from}::timestamptz AND created_at < ${options.cutoff}
        ORDER BY created_at
        LIMIT ${options.batchSize}),
      gone AS (
        DELETE FROM audit_logs a USING doomed d
        WHERE a.id = d.id AND a.created_at = d.created_at
          AND a.created_at >= ${from}::timestamptz AND a.created_at < ${options.cutoff}
        RETURNING a.created_at)
      SELECT count(*) AS n, max(created_at) AS last FROM gone`.execute(db);
    const batch = rows[0]?.n ?? 0;
    deleted += batch;
    if (batch > 0) await options.onBatch?.(batch);
    if (batch < options.batchSize || !rows[0]?.last) return { deleted, complete: true };
    from = rows[0].last;
  }
}

/**
 * The tenants that hold at least one audit row older than their own cut-off, in one statement
 * (one index probe per tenant and partition until the first hit), so the batched walk above runs
 * only for them instead of one empty first batch per tenant. The longest cut-off, a literal to the
 * planner, prunes every newer month before planning.
 */
export async function tenantsWithExpiredRows(
  db: Db,
  tenants: { tenantId: string; cutoff: Date }[],
): Promise<Set<string>> {
  if (tenants.length === 0) return new Set();
  const latest = new Date(Math.max(...tenants.map((tenant) => tenant.cutoff.getTime())));
  const { rows } = await sql<{ tenant_id: string }>`
    SELECT p.tenant_id::text AS tenant_id
    FROM unnest(${tenants.map((t) => t.tenantId)}::uuid[], ${tenants.map((t) => t.cutoff.toISOString())}::timestamptz[])
      AS p(tenant_id, cutoff)
    WHERE EXISTS (
      SELECT 1 FROM audit_logs a
      WHERE a.tenant_id = p.tenant_id AND a.created_at < p.cutoff AND a.created_at < ${latest})`.execute(db);
  return new Set(rows.map((row) => row.tenant_id));
}
