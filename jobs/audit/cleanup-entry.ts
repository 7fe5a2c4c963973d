// The cleanup's own audit entry, one per tenant: what was removed, how many rows, and the
// cut-offs, attributed to the engine (actor 'engine:audit-cleanup'), so the deletion itself is
// auditable. Written with the job's clock; a tenant on legal hold gets an entry saying nothing
// was removed because of the hold.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';
import type { TenantRetention } from './retention-policy.js';
import type { TenantRemovals } from './tally.js';

export const CLEANUP_ACTOR = 'engine:audit-cleanup';

export interface CleanupCutoffs {
  auditLogs: Date;
  exports: Date;
  jobRuns: Date;
  emailDeliveries: Date;
}

export interface CleanupEntry {
  policy: TenantRetention;
  removals: TenantRemovals;
  cutoffs: CleanupCutoffs;
}

/**
 * Every tenant's entry in one INSERT: one statement and one commit (one WAL flush) however many
 * tenants a run touched, instead of one each.
 */
export async function writeCleanupEntries(
  db: Db,
  entries: CleanupEntry[],
  options: { at: Date; jobId: string },
): Promise<void> {
  if (entries.length === 0) return;
  const tenantIds = entries.map((entry) => entry.policy.tenantId);
  const details = entries.map((entry) => JSON.stringify(describe(entry)));
  const reasons = entries.map((entry) =>
    entry.policy.legalHold ? 'legal hold: nothing deleted' : `retention policy (job ${options.jobId})`,
  );
  await sql`
    INSERT INTO audit_logs (tenant_id, created_at, actor, action, resource_type, new_values, reason, success)
    SELECT e.tenant_id, ${options.at}, ${CLEANUP_ACTOR}, 'retention-cleanup', 'audit_logs', e.details, e.reason, true
    FROM unnest(${tenantIds}::uuid[], ${details}::jsonb[], ${reasons}::text[]) AS e(tenant_id, details, reason)`.execute(
    db,
  );
}

function describe({ policy, removals, cutoffs }: CleanupEntry) {
  return {
    legalHold: policy.legalHold,
    complete: removals.complete,
    auditLogs: {
      retentionDays: policy.retentionDays,
      cutoff: cutoffs.auditLogs.toISOString(),
      rowsDeleted: removals.auditRowsDeleted,
      rowsInDroppedPartitions: removals.auditRowsInDroppedPartitions,
      droppedCountsEstimated: removals.droppedCountsEstimated,
      partitionsDropped: removals.partitionsDropped,
    },
    exports: { expiredBefore: cutoffs.exports.toISOString(), removed: removals.exportsRemoved },
    jobRuns: { cutoff: cutoffs.jobRuns.toISOString(), removed: removals.jobRunsRemoved },
    emailDeliveries: {
      cutoff: cutoffs.emailDeliveries.toISOString(),
      removed: removals.emailDeliveriesRemoved,
    },
  };
}
