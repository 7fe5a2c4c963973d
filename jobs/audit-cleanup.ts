// Nightly audit-log retention cleanup (issue 5), per tenant (tenants.settings.audit, see
// jobs/audit/retention-policy.ts):
//  1. fast path: whole audit_logs months older than every tenant's retention, holding no row of a
//     tenant on legal hold, are detached and dropped (archived first when PARTITION_ARCHIVE says);
//  2. rows past a shorter tenant retention are deleted in small batches, each its own transaction;
//  3. expired export files and rows, old run records and old email-delivery records go too;
//  4. each tenant gets an audit entry saying what was removed, how many rows and the cut-off.
// Safe to run twice and resumable: everything is found again by the same predicates.
import { z } from 'zod';
import { assertMaintenanceRole } from '../core/db.js';
import { errorMessage, InfraError } from '../core/errors.js';
import { DirectoryStorage } from '../core/storage.js';
import { type CleanupEntry, writeCleanupEntries } from './audit/cleanup-entry.js';
import { deleteExpiredAuditRows, tenantsWithExpiredRows } from './audit/delete-expired-rows.js';
import { removeExpiredExports, removeOldEmailDeliveries, removeOldJobRuns } from './audit/engine-records.js';
import { auditPartitionCutoff, daysBefore, loadAuditRetention } from './audit/retention-policy.js';
import { RemovalTally, type TenantRemovals } from './audit/tally.js';
import { defineJob } from './define-job.js';
import { assertArchiveWritable } from './partitions/archive.js';
import { ADVISORY_KEYS, advisoryUnlock, tryAdvisoryLock, withAdvisoryLock } from './partitions/locks.js';
import { emptyRotation, retireExpired } from './partitions/rotate-table.js';
import { archiveStorage, rotationSettings } from './partitions/rotation-settings.js';

const STALE_TEMPORARY_MS = 24 * 3600_000;

const payload = z.object({
  batchSize: z.number().int().min(100).max(100_000).optional(),
});

export interface CleanupResult {
  skipped?: string;
  fastPath: {
    partitionsDropped: string[];
    rows: number;
    heldBack: string[];
    deferred: string[];
    skipped?: string;
  };
  auditRowsDeleted: number;
  exportsRemoved: number;
  jobRunsRemoved: number;
  emailDeliveriesRemoved: number;
  staleTemporariesRemoved: number;
  tenants: Record<string, TenantRemovals & { legalHold: boolean }>;
}

export const auditCleanup = defineJob({
  name: 'audit-cleanup',
  description:
    'Drop or delete audit logs past each tenant retention; expire exports, run and delivery records',
  payload,
  schedule: { cron: '45 1 * * *' },
  queue: { concurrency: 1, attempts: 3, backoffMs: 60_000 },
  async run(input, ctx): Promise<CleanupResult> {
    // All bad input is reported before anything is detached or deleted.
    const policies = await loadAuditRetention(ctx.db, ctx.config);
    const settings = rotationSettings(ctx.config);
    const archive = archiveStorage(settings);
    if (archive) await assertArchiveWritable(archive, settings.archiveDir);
    await assertMaintenanceRole(ctx.db);
    const batchSize = input.batchSize ?? ctx.config.AUDIT_DELETE_BATCH_SIZE;
    const now = ctx.clock.now();
    const held = policies.filter((p) => p.legalHold).map((p) => p.tenantId);
    const tally = new RemovalTally();
    const cutoffs = {
      exports: now,
      jobRuns: daysBefore(now, ctx.config.JOB_RUN_RETENTION_DAYS),
      emailDeliveries: daysBefore(now, ctx.config.EMAIL_DELIVERY_RETENTION_DAYS),
    };

    const locked = await withAdvisoryLock(ctx.db, ADVISORY_KEYS.auditCleanup, async (conn) => {
      const result: CleanupResult = {
        fastPath: { partitionsDropped: [], rows: 0, heldBack: [], deferred: [] },
        auditRowsDeleted: 0,
        exportsRemoved: 0,
        jobRunsRemoved: 0,
        emailDeliveriesRemoved: 0,
        staleTemporariesRemoved: 0,
        tenants: {},
      };
      let interrupted = false;
      // 4. (last, and when a step fails) Whatever was removed is recorded, even when the run stops
      // half-way: every tenant's entry in one statement on the pinned connection (a fresh pooled
      // one spent 83 ms planning this insert into the partitioned table, in the profile), or from
      // the pool when the pinned connection has died, so such a run still leaves its record.
      const recordRemovals = async (failed: boolean) => {
        const entries: CleanupEntry[] = [];
        for (const policy of policies) {
          const removals = tally.byTenant.get(policy.tenantId);
          if (!policy.legalHold && (!removals || RemovalTally.total(removals) === 0)) continue;
          const entry = removals ?? tally.for(policy.tenantId);
          // A run that failed part-way did not finish this tenant either.
          if (failed) entry.complete = false;
          entries.push({
            policy,
            removals: entry,
            cutoffs: { ...cutoffs, auditLogs: daysBefore(now, policy.retentionDays) },
          });
          result.tenants[policy.slug] = { ...entry, legalHold: policy.legalHold };
        }
        const record = { at: now, jobId: ctx.jobId };
        await writeCleanupEntries(conn, entries, record).catch((error: unknown) => {
          if (!isConnectionLost(error)) throw error;
          return writeCleanupEntries(ctx.db, entries, record);
        });
      };
      try {
        // 1. Fast path, under the partition DDL lock so it never races a rotation.
        if (await tryAdvisoryLock(conn, ADVISORY_KEYS.partitionDdl)) {
          try {
            const months = emptyRotation();
            await retireExpired(
              conn,
              'audit_logs',
              {
                retentionCutoff: auditPartitionCutoff(policies, ctx.config.AUDIT_RETENTION_DAYS, now),
                heldTenants: held,
                archive,
                exactCounts: ctx.config.AUDIT_EXACT_DROP_COUNTS === 'true',
                locks: { ...settings.locks, signal: ctx.signal },
              },
              { clock: ctx.clock, log: ctx.log, signal: ctx.signal },
              months,
            );
            for (const month of months.retired) {
              result.fastPath.partitionsDropped.push(month.name);
              result.fastPath.rows += month.rows;
              for (const [tenantId, rows] of Object.entries(month.rowsByTenant)) {
                const entry = tally.for(tenantId);
                entry.auditRowsInDroppedPartitions += rows;
                entry.partitionsDropped.push(month.name);
                if (month.estimated) entry.droppedCountsEstimated = true;
              }
            }
            result.fastPath.heldBack = months.heldBack;
            result.fastPath.deferred = months.deferred;
          } finally {
            // Never in place of the error that got us here: a dead connection has no lock to free.
            await advisoryUnlock(conn, ADVISORY_KEYS.partitionDdl).catch(() => undefined);
          }
        } else {
          result.fastPath.skipped = 'partition rotation is running; rows are deleted in batches instead';
        }
        await ctx.progress({ phase: 'partitions', dropped: result.fastPath.partitionsDropped.length });

        // 2. Batched deletes, tenant by tenant, for the tenants one probe finds rows to delete for.
        // Everything from here on runs on the pinned connection: its backend already has
        // audit_logs' partitions in its caches, where a second pooled connection would load them
        // again.
        const active = policies.filter((policy) => !policy.legalHold);
        const withExpired = await tenantsWithExpiredRows(
          conn,
          active.map((policy) => ({
            tenantId: policy.tenantId,
            cutoff: daysBefore(now, policy.retentionDays),
          })),
        );
        for (const policy of active) {
          if (!withExpired.has(policy.tenantId)) continue;
          const entry = tally.for(policy.tenantId);
          const done = await deleteExpiredAuditRows(conn, {
            tenantId: policy.tenantId,
            cutoff: daysBefore(now, policy.retentionDays),
            batchSize,
            signal: ctx.signal,
            onBatch: async (deleted) => {
              entry.auditRowsDeleted += deleted;
              result.auditRowsDeleted += deleted;
              await ctx.progress({
                phase: 'audit-rows',
                tenant: policy.slug,
                deleted: entry.auditRowsDeleted,
              });
            },
          });
          if (!done.complete) {
            entry.complete = false;
            interrupted = true;
            break;
          }
        }

        // 3. The engine's own records.
        if (!interrupted) {
          const common = { heldTenants: held, tally, signal: ctx.signal };
          const exportStorage = new DirectoryStorage(ctx.config.EXPORT_DIR);
          result.exportsRemoved = await removeExpiredExports(conn, exportStorage, { ...common, now });
          result.staleTemporariesRemoved = await exportStorage.removeStaleTemporaries(
            STALE_TEMPORARY_MS,
            now,
          );
          result.jobRunsRemoved = await removeOldJobRuns(conn, {
            ...common,
            batchSize,
            cutoff: cutoffs.jobRuns,
          });
          result.emailDeliveriesRemoved = await removeOldEmailDeliveries(conn, {
            ...common,
            batchSize,
            cutoff: cutoffs.emailDeliveries,
          });
          interrupted = ctx.signal.aborted;
        }
      } catch (error) {
        // Record what was removed before the failure; the failure itself is what the caller sees.
        await recordRemovals(true).catch((recordError: unknown) =>
          ctx.log.error(
            { err: { message: errorMessage(recordError) } },
            'could not record what the failed audit cleanup removed',
          ),
        );
        throw error;
      }
      await recordRemovals(false);
      if (interrupted) {
        throw new InfraError('audit cleanup was interrupted; the next run continues where this one stopped');
      }
      return result;
    });
    if (!locked.acquired) {
      return {
        skipped: 'another audit cleanup is running',
        fastPath: { partitionsDropped: [], rows: 0, heldBack: [], deferred: [] },
        auditRowsDeleted: 0,
        exportsRemoved: 0,
        jobRunsRemoved: 0,
        emailDeliveriesRemoved: 0,
        staleTemporariesRemoved: 0,
        tenants: {},
      };
    }
    ctx.log.info(
      {
        partitionsDropped: locked.value.fastPath.partitionsDropped,
        auditRowsDeleted: locked.value.auditRowsDeleted,
        exportsRemoved: locked.value.exportsRemoved,
      },
      'audit cleanup finished',
    );
    return locked.value;
  },
});

/** The pinned connection is gone (backend terminated, socket closed), as opposed to a failed statement. */
function isConnectionLost(error: unknown): boolean {
  const err = error as { code?: string; message?: string } | undefined;
  const code = err?.code ?? '';
  return (
    code.startsWith('08') ||
    code.startsWith('57P') ||
    code === 'ECONNRESET' ||
    /Connection terminated|not queryable|connection error/i.test(err?.message ?? '')
  );
}
