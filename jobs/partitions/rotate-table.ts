// One table's rotation: make sure every month from now to `premake` months ahead has a partition
// (whether or not data has arrived, and filling any gap left while the job did not run), give
// every month that has rows stuck in the default partition its own partition, then retire the
// months past retention. Steps are independent and idempotent; when one cannot get its locks it is
// deferred and the rest of this table waits for the next run.
import { sql } from 'kysely';
import type { Clock } from '../../core/clock.js';
import type { Db } from '../../core/db.js';
import type { Logger } from '../../core/logger.js';
import { addMonths, monthStart, type PartitionedTable, partitionName } from '../../core/partitions.js';
import type { FileStorage } from '../../core/storage.js';
import { attachMonth } from './attach-month.js';
import {
  columnsOf,
  listPartitions,
  type MonthlyPartition,
  monthsInDefault,
  type PartitionSet,
  parsePartitionMonth,
} from './catalog.js';
import { type ShortLockOptions, withShortLocks } from './locks.js';
import { COUNTED_TABLE, detachAndTakeCounts, FOLD_MONTH_COUNTS_SQL } from './month-counts.js';
import {
  countRowsByTenant,
  describeDetached,
  detachMonth,
  dropDetached,
  type RetiredMonth,
} from './retire-month.js';

export interface TableRotationSettings {
  premakeMonths: number;
  moveBatchSize: number;
  locks: ShortLockOptions;
  archive: FileStorage | null;
  /** Partitions whose whole month ends on or before this instant are past retention; null keeps all. */
  retentionCutoff: Date | null;
  /** Tenants on legal hold: a partition holding any of their rows is never retired. */
  heldTenants: string[];
  /** Count a retired month's rows per tenant with a scan (default) or from planner statistics. */
  exactCounts?: boolean;
}

export interface TableRotation {
  created: string[];
  rowsMoved: number;
  retired: RetiredMonth[];
  heldBack: string[];
  deferred: string[];
}

const key = (month: Date) => month.toISOString().slice(0, 7);

/** The months that must have a partition, ascending. */
export function monthsWanted(attached: Date[], inDefault: Date[], now: Date, premakeMonths: number): Date[] {
  const current = monthStart(now);
  const wanted = new Map<string, Date>();
  for (let i = 0; i <= premakeMonths; i++) wanted.set(key(addMonths(current, i)), addMonths(current, i));
  // After a gap (the job did not run for months) the months between the newest partition and now
  // are filled too, so a late mark for one of them never lands in the default partition.
  const past = attached.filter((month) => month < current);
  const newest = past.length > 0 ? past[past.length - 1]! : null;
  if (newest) {
    for (let month = addMonths(newest, 1); month < current; month = addMonths(month, 1)) {
      wanted.set(key(month), month);
    }
  }
  for (const month of inDefault) wanted.set(key(month), month);
  const have = new Set(attached.map(key));
  return [...wanted.values()]
    .filter((month) => !have.has(key(month)))
    .sort((a, b) => a.getTime() - b.getTime());
}

export async function rotateTable(
  conn: Db,
  table: PartitionedTable,
  now: Date,
  settings: TableRotationSettings,
  deps: RotationDeps,
): Promise<TableRotation> {
  const result: TableRotation = { created: [], rowsMoved: 0, retired: [], heldBack: [], deferred: [] };
  const set = await ensureMonths(conn, table, now, settings, deps, result);
  if (result.deferred.length > 0 || deps.signal.aborted) return result;
  await retireExpired(conn, table, settings, deps, result, set);
  return result;
}

export interface RotationDeps {
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
}

export async function ensureMonths(
  conn: Db,
  table: PartitionedTable,
  now: Date,
  settings: Pick<TableRotationSettings, 'premakeMonths' | 'moveBatchSize' | 'locks'>,
  deps: RotationDeps,
  result: TableRotation,
): Promise<PartitionSet> {
  const set = await listPartitions(conn, table);
  const attached = set.monthly.filter((p) => p.attached).map((p) => p.month);
  const inDefault = set.defaultPartition ? await monthsInDefault(conn, table, set.defaultPartition) : [];
  const toCreate = monthsWanted(attached, inDefault, now, settings.premakeMonths);
  if (toCreate.length === 0) return set;
  // Only moving rows out of the default partition needs the column list: the usual night (empty
  // months ahead, nothing in the default partition) skips that catalog query.
  const columns = inDefault.length > 0 ? await columnsOf(conn, table) : [];
  for (const month of toCreate) {
    if (deps.signal.aborted) return withCreated(set, result.created);
    const step = await attachMonth(conn, settings.locks, {
      table,
      month,
      defaultPartition: set.defaultPartition,
      rowsInDefault: inDefault.some((m) => m.getTime() === month.getTime()),
      columns,
      batchSize: settings.moveBatchSize,
    });
    if (!step.done) {
      result.deferred.push(`create ${partitionName(table, month)}: ${step.reason}`);
      deps.log.warn(
        { table, month: key(month), attempts: step.attempts },
        'partition step deferred: lock busy',
      );
      return withCreated(set, result.created);
    }
    result.created.push(step.value.name);
    result.rowsMoved += step.value.rowsMoved;
  }
  return withCreated(set, result.created);
}

/**
 * The set as it stands after `created` were attached, so retirement needs no second catalog
 * query. A created month can itself be past retention (a stray old row rescued from the default
 * partition), so it is listed like any other.
 */
function withCreated(set: PartitionSet, created: string[]): PartitionSet {
  if (created.length === 0) return set;
  const byName = new Map(set.monthly.map((p) => [p.name, p]));
  for (const name of created) {
    const month = parsePartitionMonth(set.table, name);
    if (month) byName.set(name, { name, month, attached: true });
  }
  const monthly = [...byName.values()].sort((a, b) => a.month.getTime() - b.month.getTime());
  return { ...set, monthly };
}

/** Retire every month (attached, or left detached by an interrupted run) that ends by the cut-off. */
export async function retireExpired(
  conn: Db,
  table: PartitionedTable,
  settings: Pick<
    TableRotationSettings,
    'retentionCutoff' | 'heldTenants' | 'archive' | 'locks' | 'exactCounts'
  >,
  deps: RotationDeps,
  result: TableRotation,
  /** The partitions as just listed (by ensureMonths, under the same advisory lock), or listed here. */
  known?: PartitionSet,
): Promise<void> {
  const cutoff = settings.retentionCutoff;
  if (!cutoff) return;
  const set = known ?? (await listPartitions(conn, table));
  const expired = set.monthly.filter((p) => addMonths(p.month, 1) <= cutoff);
  if (expired.length === 0) return;
  const columns = settings.archive ? await columnsOf(conn, table) : [];
  const detached: MonthlyPartition[] = [];
  const toDetach: MonthlyPartition[] = [];
  for (const partition of expired) {
    if (deps.signal.aborted) break;
    if (await holdsHeldRows(conn, partition, settings.heldTenants)) {
      result.heldBack.push(partition.name);
      continue;
    }
    (partition.attached ? toDetach : detached).push(partition);
  }
  // audit_logs keeps exact per-tenant month counts (sql/0031): every month is detached in one
  // transaction that also takes their counts, so no scan is needed to count them.
  let counted = new Map<string, Record<string, number>>();
  const counts = table === COUNTED_TABLE && set.defaultPartition !== null;
  if (counts && toDetach.length > 0 && !deps.signal.aborted) {
    const step = await withShortLocks(conn, settings.locks, (trx) =>
      detachAndTakeCounts(trx, table, toDetach),
    );
    if (!step.done) {
      result.deferred.push(`detach ${toDetach.map((p) => p.name).join(', ')}: ${step.reason}`);
      deps.log.warn({ table, partitions: toDetach.length }, 'partition retirement deferred: lock busy');
    } else {
      counted = step.value;
      detached.push(...toDetach);
    }
  } else {
    for (const partition of toDetach) {
      if (deps.signal.aborted) break;
      const step = await detachMonth(conn, {
        table,
        partition: partition.name,
        hasDefault: set.defaultPartition !== null,
        locks: settings.locks,
      });
      if (!step.done) {
        result.deferred.push(`detach ${partition.name}: ${step.reason}`);
        deps.log.warn({ table, partition: partition.name }, 'partition retirement deferred: lock busy');
        break;
      }
      detached.push(partition);
    }
  }
  // Months detached above (or by an interrupted run) are archived or counted, then dropped together.
  // Tables left detached by an interrupted run lost their counts with the detach, so they are scanned.
  const retired: RetiredMonth[] = [];
  const exactCounts = settings.exactCounts ?? true;
  if (exactCounts && !settings.archive) {
    const uncounted = detached.filter((partition) => !counted.has(partition.name));
    for (const [name, rows] of await countRowsByTenant(
      conn,
      uncounted.map((partition) => partition.name),
    )) {
      counted.set(name, rows);
    }
  }
  for (const partition of detached) {
    retired.push(
      await describeDetached(conn, {
        table,
        partition,
        columns,
        archive: settings.archive,
        clock: deps.clock,
        exactCounts,
        counted,
      }),
    );
  }
  // The fold of the month counts shares the drop's round trip and commit.
  const dropped = await dropDetached(
    conn,
    retired.map((month) => month.name),
    settings.locks,
    counts ? [FOLD_MONTH_COUNTS_SQL] : [],
  );
  if (!dropped.done) {
    result.deferred.push(`drop ${retired.map((month) => month.name).join(', ')}: ${dropped.reason}`);
    return;
  }
  result.retired.push(...retired);
}

export function emptyRotation(): TableRotation {
  return { created: [], rowsMoved: 0, retired: [], heldBack: [], deferred: [] };
}

async function holdsHeldRows(conn: Db, partition: MonthlyPartition, heldTenants: string[]): Promise<boolean> {
  if (heldTenants.length === 0) return false;
  const { rows } = await sql<{ held: boolean }>`
    SELECT EXISTS (
      SELECT 1 FROM ${sql.table(partition.name)} WHERE tenant_id = ANY (${heldTenants}::uuid[])
    ) AS held`.execute(conn);
  return rows[0]?.held === true;
}
