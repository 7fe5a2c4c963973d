// Monthly range partitions for attendance (by date) and audit_logs (by timestamptz).
// Boundaries are computed here, in UTC, and written as explicit literals: a timestamptz bound
// like '2025-09-01' would otherwise be read in the connection's TimeZone setting.
// Creation is idempotent. Moving rows out of the default partition, detaching and dropping old
// months belong to the partition-rotation job, which builds on these helpers.
import { sql } from 'kysely';
import type { Db } from './db.js';

export const PARTITIONED_TABLES = {
  attendance: { column: 'attendance_date', kind: 'date' },
  audit_logs: { column: 'created_at', kind: 'timestamptz' },
} as const;

export type PartitionedTable = keyof typeof PARTITIONED_TABLES;

/** First day of the month of `date`, in UTC. */
export function monthStart(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
}

export function addMonths(month: Date, count: number): Date {
  return new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + count, 1));
}

export function partitionName(table: PartitionedTable, month: Date): string {
  const mm = String(month.getUTCMonth() + 1).padStart(2, '0');
  return `${table}_p${month.getUTCFullYear()}_${mm}`;
}

export function partitionBounds(table: PartitionedTable, month: Date): { from: string; to: string } {
  const iso = (d: Date) => d.toISOString().slice(0, 10);
  const next = addMonths(month, 1);
  if (PARTITIONED_TABLES[table].kind === 'date') return { from: iso(month), to: iso(next) };
  return { from: `${iso(month)} 00:00:00+00`, to: `${iso(next)} 00:00:00+00` };
}

/**
 * Row-level security for a partition, with the foundation's policy (sql/0008): RLS is not
 * inherited from the parent, and reading a partition directly must stay tenant-scoped too.
 */
export function tenantIsolationSql(partition: string): string[] {
  return [
    `ALTER TABLE ${partition} ENABLE ROW LEVEL SECURITY`,
    `ALTER TABLE ${partition} FORCE ROW LEVEL SECURITY`,
    `DROP POLICY IF EXISTS tenant_isolation ON ${partition}`,
    `CREATE POLICY tenant_isolation ON ${partition} USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())`,
  ];
}

/** The SQL that creates one month's partition with the parent's row-level security. */
export function createPartitionSql(table: PartitionedTable, month: Date): string {
  const name = partitionName(table, month);
  const { from, to } = partitionBounds(table, month);
  // Indexes, constraints and foreign keys come from the parent automatically; RLS does not.
  return [
    `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${table} FOR VALUES FROM ('${from}') TO ('${to}')`,
    ...tenantIsolationSql(name),
  ].join(';\n');
}

/** Create every missing monthly partition from `from`'s month to `to`'s month, inclusive. */
export async function ensureMonthlyPartitions(
  db: Db,
  table: PartitionedTable,
  from: Date,
  to: Date,
): Promise<string[]> {
  const created: string[] = [];
  for (let month = monthStart(from); month <= monthStart(to); month = addMonths(month, 1)) {
    const name = partitionName(table, month);
    const exists = await sql<{
      present: boolean;
    }>`SELECT to_regclass(${name}) IS NOT NULL AS present`.execute(db);
    if (exists.rows[0]?.present) continue;
    await sql.raw(createPartitionSql(table, month)).execute(db);
    created.push(name);
  }
  return created;
}
