// Exact per-tenant row counts of audit_logs months from the trigger-kept deltas of
// sql/0031_audit_month_counts.sql, instead of a scan of each month being dropped.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../../core/database-types.js';
import { quoteIdent } from './sql-names.js';

export const COUNTED_TABLE = 'audit_logs';

const monthKey = (month: Date) => month.toISOString().slice(0, 10);

/**
 * Detach several months in one transaction (one ACCESS EXCLUSIVE acquisition on the parent) and
 * consume their count deltas in the same transaction: while the lock is held no writer can add a
 * row to those months, so the counts returned are exactly the rows of the detached tables. A row
 * inserted later for one of those months lands in the default partition with a fresh delta, which
 * stays. Returns partition name -> tenant id -> rows.
 */
export async function detachAndTakeCounts(
  trx: Transaction<Database>,
  table: string,
  partitions: { name: string; month: Date }[],
): Promise<Map<string, Record<string, number>>> {
  await sql
    .raw(
      partitions
        .map((p) => `ALTER TABLE ${quoteIdent(table)} DETACH PARTITION ${quoteIdent(p.name)}`)
        .join(';\n'),
    )
    .execute(trx);
  const byMonth = new Map(partitions.map((p) => [monthKey(p.month), p.name]));
  const { rows } = await sql<{ month: string; tenant_id: string; rows: number }>`
    WITH taken AS (
      DELETE FROM audit_log_month_counts WHERE month = ANY (${[...byMonth.keys()]}::date[])
      RETURNING tenant_id, month, rows)
    SELECT to_char(month, 'YYYY-MM-DD') AS month, tenant_id::text AS tenant_id, sum(rows)::float8 AS rows
    FROM taken GROUP BY 1, 2`.execute(trx);
  const counted = new Map<string, Record<string, number>>(partitions.map((p) => [p.name, {}]));
  for (const row of rows) {
    if (row.rows === 0) continue;
    counted.get(byMonth.get(row.month)!)![row.tenant_id] = Number(row.rows);
  }
  return counted;
}

/**
 * Fold the deltas into one row per (tenant, month), so the table stays about tenants x months in
 * size however many single-row inserts wrote them. Deltas written meanwhile are not in this
 * statement's snapshot and stay as they are: nothing is counted twice or lost.
 */
export const FOLD_MONTH_COUNTS_SQL = `
    WITH gone AS (DELETE FROM audit_log_month_counts RETURNING tenant_id, month, rows)
    INSERT INTO audit_log_month_counts (tenant_id, month, rows)
    SELECT tenant_id, month, sum(rows) FROM gone GROUP BY 1, 2 HAVING sum(rows) <> 0`;
