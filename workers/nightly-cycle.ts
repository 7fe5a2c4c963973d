// One nightly cycle on demand (the demo): enqueue every scheduled kind now, once globally or once
// per active tenant, and wait until each job has finished (completed, or failed for good).
import { listActiveTenants, type TenantInfo } from '../core/tenants.js';
import type { Engine } from './engine.js';
import { scheduledKinds } from './scheduler.js';

export interface CycleOutcome {
  kind: string;
  tenantId?: string;
  jobId: string;
  state: string;
  result?: unknown;
  error?: string;
}

export async function runNightlyCycle(
  engine: Engine,
  options: { timeoutMs?: number } = {},
): Promise<CycleOutcome[]> {
  const kinds = scheduledKinds(engine.jobs, engine.config);
  const tenants = kinds.some((k) => k.schedule.perTenant) ? await listActiveTenants(engine.db) : [];
  const added: { kind: string; tenantId?: string; jobId: string }[] = [];
  const at = engine.clock.now();
  for (const { kind, schedule, definition } of kinds) {
    const targets: (TenantInfo | undefined)[] = schedule.perTenant ? tenants : [undefined];
    for (const tenant of targets) {
      const payload = schedule.payload?.({ at, tenant }) ?? (tenant ? { tenantId: tenant.id } : {});
      const jobId = await engine.enqueue(definition.name, payload);
      added.push({ kind, tenantId: tenant?.id, jobId });
    }
  }
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  const outcomes: CycleOutcome[] = [];
  for (const entry of added) {
    const queue = engine.enqueuer.queue(entry.kind);
    for (;;) {
      const state = await queue.getJobState(entry.jobId);
      // Read after the state, so a job that just finished comes with its return value.
      const job = await queue.getJob(entry.jobId);
      if (state === 'completed' || state === 'failed' || state === 'unknown' || Date.now() > deadline) {
        outcomes.push({
          ...entry,
          state:
            Date.now() > deadline && state !== 'completed' && state !== 'failed'
              ? `timed out (${state})`
              : state,
          ...(job?.returnvalue !== undefined ? { result: job.returnvalue } : {}),
          ...(job?.failedReason ? { error: job.failedReason } : {}),
        });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return outcomes;
}
