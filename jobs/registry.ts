// Every job kind, once. Adding a job kind is one file in jobs/ plus one line here.
import { attendanceRollup } from './attendance-rollup.js';
import type { JobDefinition } from './define-job.js';
import { mvRefresh } from './mv-refresh.js';

export const jobRegistry: JobDefinition[] = [attendanceRollup, mvRefresh];

export function findJob(name: string): JobDefinition | undefined {
  return jobRegistry.find((job) => job.name === name);
}
