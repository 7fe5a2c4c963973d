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
import { sql, type Transaction } from 'kysely';
import type { Database } from '../../core/database-types.js';
import { InfraError } from '../../core/errors.js';
import {
  PARTITIONED_TABLES,
  type PartitionedTable,
  partitionBounds,
  partitionName,
} from '../../core/partitions.js';
import { quoteIdent } from './sql-names.js';

export interface AttachResult {
  name: string;
  rowsMoved: number;
}

export async function attachMonth(
  trx: Transaction<Database>,
  options: {
    table: PartitionedTable;
    month: Date;
    defaultPartition: string | null;
    columns: string[];
    batchSize: number;
  },
): Promise<AttachResult> {
  const { table, month, defaultPartition, columns, batchSize } = options;
  const name = partitionName(table, month);
  const { from, to } = partitionBounds(table, month);
  const parent = quoteIdent(table);
  const child = quoteIdent(name);
  const column = quoteIdent(PARTITIONED_TABLES[table].column);
  const run = (statement: string) => sql.raw(statement).execute(trx);

  // Locks in the order ATTACH takes them (parent, then default), each bounded by lock_timeout.
  // ONLY: a plain LOCK TABLE on a partitioned table would lock every partition.
  await run(`LOCK TABLE ONLY ${parent} IN SHARE UPDATE EXCLUSIVE MODE`);
  if (defaultPartition) await run(`LOCK TABLE ${quoteIdent(defaultPartition)} IN ACCESS EXCLUSIVE MODE`);

  // A table of this name left by an interrupted run is empty (its rows would have been moved in
  // the same rolled-back transaction) and is rebuilt from scratch; one holding rows is not ours to
  // drop, so the step stops and says so.
  const present = await sql<{ present: boolean }>`SELECT to_regclass(${name}) IS NOT NULL AS present`.execute(
    trx,
  );
  const hasRows =
    present.rows[0]?.present &&
    (
      await sql<{ has_rows: boolean }>`SELECT EXISTS (SELECT 1 FROM ${sql.table(name)}) AS has_rows`.execute(
        trx,
      )
    ).rows[0]?.has_rows;
  if (hasRows) {
    throw new InfraError(
      `table ${name} exists outside ${table} and holds rows; attach or archive it by hand`,
    );
  }
  await run(`DROP TABLE IF EXISTS ${child}`);
  await run(`CREATE TABLE ${child} (LIKE ${parent} INCLUDING ALL)`);
  // Proves the bounds to ATTACH, which then skips scanning the new table.
  await run(
    `ALTER TABLE ${child} ADD CONSTRAINT ${quoteIdent(`${name}_bounds`)} CHECK (${column} >= '${from}' AND ${column} < '${to}')`,
  );
  // RLS is not inherited from the parent: enable and force it with the foundation's policy shape
  // (sql/0008), so reading the partition directly stays tenant-scoped too.
  await run(`ALTER TABLE ${child} ENABLE ROW LEVEL SECURITY`);
  await run(`ALTER TABLE ${child} FORCE ROW LEVEL SECURITY`);
  await run(
    `CREATE POLICY tenant_isolation ON ${child} USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())`,
  );

  let rowsMoved = 0;
  if (defaultPartition) {
    const list = columns.map(quoteIdent).join(', ');
    const source = quoteIdent(defaultPartition);
    for (;;) {
      const result = await sql
        .raw(`
        WITH moved AS (
          DELETE FROM ${source}
          WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM ${source} WHERE ${column} >= '${from}' AND ${column} < '${to}' LIMIT ${batchSize}))
          RETURNING ${list})
        INSERT INTO ${child} (${list}) SELECT ${list} FROM moved`)
        .execute(trx);
      const moved = Number(result.numAffectedRows ?? 0);
      rowsMoved += moved;
      if (moved < batchSize) break;
    }
  }

  // Indexes matching the parent's are attached to the parent's indexes, missing ones created;
  // foreign keys and row triggers are cloned from the parent here.
  await run(`ALTER TABLE ${parent} ATTACH PARTITION ${child} FOR VALUES FROM ('${from}') TO ('${to}')`);
  await run(`ALTER TABLE ${child} DROP CONSTRAINT ${quoteIdent(`${name}_bounds`)}`);
  return { name, rowsMoved };
}
