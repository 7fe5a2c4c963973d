// What exists: a parent's monthly partitions (by the foundation's `<table>_pYYYY_MM` naming), its
// default partition, tables of that naming left unattached by an interrupted run, and which
// months the default partition holds rows for. Everything is computed in UTC.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';
import { PARTITIONED_TABLES, type PartitionedTable } from '../../core/partitions.js';

export interface MonthlyPartition {
  name: string;
  /** First day of the month, UTC. */
  month: Date;
  /** false: a table of our naming that is not (or no longer) a partition, left by an interrupted run. */
  attached: boolean;
}

export interface PartitionSet {
  table: PartitionedTable;
  monthly: MonthlyPartition[];
  defaultPartition: string | null;
}

/** `attendance_p2026_03` -> 2026-03-01T00:00Z; null for any other name. */
export function parsePartitionMonth(table: PartitionedTable, name: string): Date | null {
  const match = new RegExp(`^${table}_p(\\d{4})_(\\d{2})$`).exec(name);
  if (!match) return null;
  const month = Number(match[2]);
  if (month < 1 || month > 12) return null;
  return new Date(Date.UTC(Number(match[1]), month - 1, 1));
}

export async function listPartitions(db: Db, table: PartitionedTable): Promise<PartitionSet> {
  // The default partition is read from pg_partitioned_table.partdefid, not by deparsing every
  // partition's bound with pg_get_expr: that opens (and locks) each partition to build its
  // relcache entry, the slowest part of this query on a fresh connection (21 ms of a 244 ms
  // rotation in the profile).
  const { rows } = await sql<{ name: string; attached: boolean; is_default: boolean }>`
    SELECT c.relname AS name,
           i.inhparent IS NOT NULL AS attached,
           coalesce(c.oid = pt.partdefid, false) AS is_default
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = ${table}::regclass
    LEFT JOIN pg_partitioned_table pt ON pt.partrelid = i.inhparent
    WHERE c.relkind IN ('r', 'p')
      AND (i.inhparent IS NOT NULL OR c.relname LIKE ${`${table}\\_p%`})`.execute(db);
  const monthly: MonthlyPartition[] = [];
  let defaultPartition: string | null = null;
  for (const row of rows) {
    if (row.is_default && row.attached) {
      defaultPartition = row.name;
      continue;
    }
    const month = parsePartitionMonth(table, row.name);
    if (month) monthly.push({ name: row.name, month, attached: row.attached });
  }
  monthly.sort((a, b) => a.month.getTime() - b.month.getTime());
  return { table, monthly, defaultPartition };
}

/** The months (UTC) the default partition holds rows for: each needs its own partition. */
export async function monthsInDefault(
  db: Db,
  table: PartitionedTable,
  defaultPartition: string,
): Promise<Date[]> {
  const column = sql.ref(PARTITIONED_TABLES[table].column);
  // A timestamptz is truncated at UTC explicitly, whatever the connection's TimeZone says.
  const month =
    PARTITIONED_TABLES[table].kind === 'date'
      ? sql`to_char(${column}, 'YYYY-MM')`
      : sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM')`;
  const { rows } = await sql<{ month: string }>`
    SELECT DISTINCT ${month} AS month FROM ONLY ${sql.table(defaultPartition)} ORDER BY 1`.execute(db);
  return rows.map((row) => new Date(`${row.month}-01T00:00:00Z`));
}

/** Column names of the parent in order, for moving rows with an explicit column list. */
export async function columnsOf(db: Db, table: PartitionedTable): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT attname AS name FROM pg_attribute
    WHERE attrelid = ${table}::regclass AND attnum > 0 AND NOT attisdropped
    ORDER BY attnum`.execute(db);
  return rows.map((row) => row.name);
}
