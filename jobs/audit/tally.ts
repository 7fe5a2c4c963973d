// What the cleanup removed, per tenant, for the job result and the tenant's own audit entry.
export interface TenantRemovals {
  auditRowsDeleted: number;
  auditRowsInDroppedPartitions: number;
  partitionsDropped: string[];
  /** The dropped partitions' counts come from planner statistics (AUDIT_EXACT_DROP_COUNTS=false). */
  droppedCountsEstimated: boolean;
  exportsRemoved: number;
  jobRunsRemoved: number;
  emailDeliveriesRemoved: number;
  /** false when the run was interrupted before this tenant's rows were all processed. */
  complete: boolean;
}

export class RemovalTally {
  readonly byTenant = new Map<string, TenantRemovals>();
  /** Run records of no tenant (global jobs); they have no tenant audit trail to write to. */
  globalJobRunsRemoved = 0;

  for(tenantId: string): TenantRemovals {
    let entry = this.byTenant.get(tenantId);
    if (!entry) {
      entry = {
        auditRowsDeleted: 0,
        auditRowsInDroppedPartitions: 0,
        partitionsDropped: [],
        droppedCountsEstimated: false,
        exportsRemoved: 0,
        jobRunsRemoved: 0,
        emailDeliveriesRemoved: 0,
        complete: true,
      };
      this.byTenant.set(tenantId, entry);
    }
    return entry;
  }

  static total(entry: TenantRemovals): number {
    return (
      entry.auditRowsDeleted +
      entry.auditRowsInDroppedPartitions +
      entry.exportsRemoved +
      entry.jobRunsRemoved +
      entry.emailDeliveriesRemoved
    );
  }
}
