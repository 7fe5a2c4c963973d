// The engine's own records past their age: expired export files and their rows, old job run
// records (JOB_RUN_RETENTION_DAYS) and old email-delivery records (EMAIL_DELIVERY_RETENTION_DAYS).
// Tenants on legal hold keep everything. Batched like the audit rows, each batch its own statement.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';
import type { FileStorage } from '../../core/storage.js';
import type { RemovalTally } from './tally.js';

const EXPORT_BATCH = 200;

/**
 * Files first, then rows: a crash in between leaves a row whose file is gone, which the next run
 * removes (removing a missing file is a no-op). The reverse order could orphan files forever.
 * Queued or running exports are never touched, whatever their expiry says.
 */
export async function removeExpiredExports(
  db: Db,
  storage: FileStorage,
  options: { now: Date; heldTenants: string[]; tally: RemovalTally; signal: AbortSignal },
): Promise<number> {
  let removed = 0;
  for (;;) {
    if (options.signal.aborted) return removed;
    const { rows } = await sql<{ id: string; storage_key: string | null }>`
      SELECT id, storage_key FROM exports
      WHERE expires_at < ${options.now} AND status NOT IN ('queued', 'running')
        AND tenant_id <> ALL (${options.heldTenants}::uuid[])
      ORDER BY expires_at LIMIT ${EXPORT_BATCH}`.execute(db);
    if (rows.length === 0) return removed;
    for (const row of rows) if (row.storage_key) await storage.remove(row.storage_key);
    const gone = await sql<{ tenant_id: string; n: number }>`
      WITH gone AS (DELETE FROM exports WHERE id = ANY (${rows.map((r) => r.id)}::uuid[]) RETURNING tenant_id)
      SELECT tenant_id::text, count(*) AS n FROM gone GROUP BY 1`.execute(db);
    for (const row of gone.rows) {
      options.tally.for(row.tenant_id).exportsRemoved += row.n;
      removed += row.n;
    }
    if (rows.length < EXPORT_BATCH) return removed;
  }
}

interface AgeOptions {
  cutoff: Date;
  heldTenants: string[];
  batchSize: number;
  tally: RemovalTally;
  signal: AbortSignal;
}

/** Old run records; those without a tenant (all-tenant runs) are counted for the engine itself. */
export function removeOldJobRuns(db: Db, options: AgeOptions): Promise<number> {
  return removeOldRows(db, options, 'job_runs', 'started_at', (tenantId, n) => {
    if (tenantId) options.tally.for(tenantId).jobRunsRemoved += n;
    else options.tally.globalJobRunsRemoved += n;
  });
}

export function removeOldEmailDeliveries(db: Db, options: AgeOptions): Promise<number> {
  return removeOldRows(db, options, 'email_deliveries', 'created_at', (tenantId, n) => {
    if (tenantId) options.tally.for(tenantId).emailDeliveriesRemoved += n;
  });
}

/**
 * One engine table's rows older than the cut-off, in batches of one statement each. Rows are
 * named by ctid (a TID scan; job_runs has no single-column key): a row moved by a concurrent
 * update since the batch was chosen is simply left for the next run.
 */
async function removeOldRows(
  db: Db,
  options: AgeOptions,
  table: 'job_runs' | 'email_deliveries',
  ageColumn: 'started_at' | 'created_at',
  count: (tenantId: string | null, removed: number) => void,
): Promise<number> {
  let removed = 0;
  for (;;) {
    if (options.signal.aborted) return removed;
    const { rows } = await sql<{ tenant_id: string | null; n: number }>`
      WITH gone AS (
        DELETE FROM ${sql.table(table)} WHERE ctid = ANY (ARRAY(
          SELECT ctid FROM ${sql.table(table)}
          WHERE ${sql.ref(ageColumn)} < ${options.cutoff}
            AND (tenant_id IS NULL OR tenant_id <> ALL (${options.heldTenants}::uuid[]))
          LIMIT ${options.batchSize}))
        RETURNING tenant_id)
      SELECT tenant_id::text, count(*) AS n FROM gone GROUP BY 1`.execute(db);
    let batch = 0;
    for (const row of rows) {
      count(row.tenant_id, row.n);
      batch += row.n;
    }
    removed += batch;
    if (batch < options.batchSize) return removed;
  }
}
