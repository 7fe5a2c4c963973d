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
  for (;;) {
    if (options.signal.aborted) return { deleted, complete: false };
    // The (tenant_id, created_at) index finds the batch; created_at < cutoff on the outer DELETE
    // lets PostgreSQL prune every newer partition.
    const { rows } = await sql<{ n: number }>`
      WITH gone AS (
        DELETE FROM audit_logs
        WHERE created_at < ${options.cutoff}
          AND (id, created_at) IN (
            SELECT id, created_at FROM audit_logs
            WHERE tenant_id = ${options.tenantId} AND created_at < ${options.cutoff}
            LIMIT ${options.batchSize})
        RETURNING 1)
      SELECT count(*) AS n FROM gone`.execute(db);
    const batch = rows[0]?.n ?? 0;
    deleted += batch;
    if (batch > 0) await options.onBatch?.(batch);
    if (batch < options.batchSize) return { deleted, complete: true };
  }
}
