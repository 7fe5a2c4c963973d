// Every job kind, once. Adding a job kind is one file in jobs/ plus one line here.
import { attendanceDigest } from './attendance-digest.js';
import { attendanceDigestSend } from './attendance-digest-send.js';
import { attendanceRollup } from './attendance-rollup.js';
import { auditCleanup } from './audit-cleanup.js';
import type { JobDefinition } from './define-job.js';
import { exportJob } from './export.js';
import { invoiceReconciliation } from './invoice-reconciliation.js';
import { mvRefresh } from './mv-refresh.js';
import { partitionRotation } from './partition-rotation.js';

export const jobRegistry: JobDefinition[] = [
  partitionRotation,
  auditCleanup,
  attendanceRollup,
  mvRefresh,
  invoiceReconciliation,
  exportJob as JobDefinition,
  attendanceDigest,
  attendanceDigestSend,
];

export function findJob(name: string): JobDefinition | undefined {
  return jobRegistry.find((job) => job.name === name);
}
