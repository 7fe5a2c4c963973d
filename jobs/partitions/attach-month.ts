// Creating one month's partition without blocking the school's inserts, and rescuing the rows that
// landed in the default partition for that month.
//
// `CREATE TABLE ... PARTITION OF` takes an ACCESS EXCLUSIVE lock on the parent, so it queues behind
// any open report query and every insert queues behind it. Instead the month is built as a plain
// table (LIKE the parent: columns, defaults, CHECKs, indexes) with a CHECK matching its bounds, and
// then ATTACHed, which needs only SHARE UPDATE EXCLUSIVE on the parent (inserts and reads go on)
// plus ACCESS EXCLUSIVE on the default partition, which ATTACH must scan anyway.
//
// The rows of that month still in the default partition are moved, in batches, inside the same
// transaction that attaches: done earlier they would vanish from reports until the attach, and
// any row left behind makes ATTACH fail with "updated partition constraint for default partition
// would be violated" (what stops pg_partman's maintenance). A crash rolls the whole step back,
// so no row is ever lost or copied twice.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';
import {
  PARTITIONED_TABLES,
  type PartitionedTable,
  partitionBounds,
  partitionName,
  tenantIsolationSql,
} from '../../core/partitions.js';
import { runShortDdl, type ShortLockOptions, type ShortLockResult, withShortLocks } from './locks.js';
import { quoteIdent } from './sql-names.js';

export interface AttachResult {
  name: string;
  rowsMoved: number;
}

/** The statements before and after the row move, each list sent as one round trip. */
export function attachStatements(
  table: PartitionedTable,
  month: Date,
  defaultPartition: string | null,
): { prepare: string[]; attach: string[] } {
  const name = partitionName(table, month);
  const { from, to } = partitionBounds(table, month);
  const parent = quoteIdent(table);
  const child = quoteIdent(name);
  const column = quoteIdent(PARTITIONED_TABLES[table].column);
  const bounds = quoteIdent(`${name}_bounds`);
  const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
  const prepare = [
    // Locks in the order ATTACH takes them (parent, then default), each bounded by lock_timeout.
    // ONLY: a plain LOCK TABLE on a partitioned table would lock every partition.
    `LOCK TABLE ONLY ${parent} IN SHARE UPDATE EXCLUSIVE MODE`,
    ...(defaultPartition ? [`LOCK TABLE ${quoteIdent(defaultPartition)} IN ACCESS EXCLUSIVE MODE`] : []),
    // A table of this name left by an interrupted run is empty (its rows would have been moved in
    // the same rolled-back transaction) and is rebuilt; one holding rows is not ours to drop.
    `DO $$
     DECLARE has_rows boolean;
     BEGIN
       IF to_regclass(${literal(child)}) IS NOT NULL THEN
         EXECUTE ${literal(`SELECT EXISTS (SELECT 1 FROM ${child})`)} INTO has_rows;
         IF has_rows THEN
           RAISE EXCEPTION 'table % exists outside % and holds rows; attach or archive it by hand', ${literal(name)}, ${literal(table)};
         END IF;
       END IF;
     END $$`,
    `DROP TABLE IF EXISTS ${child}`,
    `CREATE TABLE ${child} (LIKE ${parent} INCLUDING ALL)`,
    // Proves the bounds to ATTACH, which then skips scanning the new table.
    `ALTER TABLE ${child} ADD CONSTRAINT ${bounds} CHECK (${column} >= '${from}' AND ${column} < '${to}')`,
    ...tenantIsolationSql(child),
  ];
  const attach = [
    // Indexes matching the parent's are attached to the parent's indexes, missing ones created;
    // foreign keys and row triggers are cloned from the parent here.
    `ALTER TABLE ${parent} ATTACH PARTITION ${child} FOR VALUES FROM ('${from}') TO ('${to}')`,
    `ALTER TABLE ${child} DROP CONSTRAINT ${bounds}`,
  ];
  return { prepare, attach };
}

export async function attachMonth(
  conn: Db,
  locks: ShortLockOptions,
  options: {
    table: PartitionedTable;
    month: Date;
    defaultPartition: string | null;
    /** Whether the default partition holds rows of this month (known from one scan of it). */
    rowsInDefault: boolean;
    columns: string[];
    batchSize: number;
  },
): Promise<ShortLockResult<AttachResult>> {
  const { table, month, defaultPartition, columns, batchSize } = options;
  const name = partitionName(table, month);
  const { prepare, attach } = attachStatements(table, month, defaultPartition);
  if (!options.rowsInDefault || !defaultPartition) {
    // The usual night: an empty month ahead, created and attached in one round trip.
    const step = await runShortDdl(conn, locks, [...prepare, ...attach]);
    return step.done ? { done: true, attempts: step.attempts, value: { name, rowsMoved: 0 } } : step;
  }
  const { from, to } = partitionBounds(table, month);
  const column = quoteIdent(PARTITIONED_TABLES[table].column);
  const list = columns.map(quoteIdent).join(', ');
  const source = quoteIdent(defaultPartition);
  return withShortLocks(conn, locks, async (trx) => {
    await sql.raw(prepare.join(';\n')).execute(trx);
    let rowsMoved = 0;
    for (;;) {
      const result = await sql
        .raw(`
        WITH moved AS (
          DELETE FROM ${source}
          WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM ${source} WHERE ${column} >= '${from}' AND ${column} < '${to}' LIMIT ${batchSize}))
          RETURNING ${list})
        INSERT INTO ${quoteIdent(name)} (${list}) SELECT ${list} FROM moved`)
        .execute(trx);
      const moved = Number(result.numAffectedRows ?? 0);
      rowsMoved += moved;
      if (moved < batchSize) break;
    }
    await sql.raw(attach.join(';\n')).execute(trx);
    return { name, rowsMoved };
  });
}
