// Every job kind, once. Adding a job kind is one file in jobs/ plus one line here.
import type { JobDefinition } from './define-job.js';
import { invoiceReconciliation } from './invoice-reconciliation.js';

export const jobRegistry: JobDefinition[] = [invoiceReconciliation];

export function findJob(name: string): JobDefinition | undefined {
  return jobRegistry.find((job) => job.name === name);
}
