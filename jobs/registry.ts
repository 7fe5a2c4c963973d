// Every job kind, once. Adding a job kind is one file in jobs/ plus one line here.
import { auditCleanup } from './audit-cleanup.js';
import type { JobDefinition } from './define-job.js';
import { partitionRotation } from './partition-rotation.js';

export const jobRegistry: JobDefinition[] = [partitionRotation, auditCleanup];

export function findJob(name: string): JobDefinition | undefined {
  return jobRegistry.find((job) => job.name === name);
}
