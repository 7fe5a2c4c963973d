// attendance-rollup: turn attendance marks into the figures schools act on (monthly per student,
// enrollment summaries, daily ADA per school, chronic absenteeism), per tenant under its own
// attendance policy. Incremental by default (only what the dirty set says changed); `full`
// rebuilds from scratch, with identical results. Then chains mv-refresh for the views it feeds.
import { sql } from 'kysely';
import { z } from 'zod';
import { localDate } from '../core/clock.js';
import { InputError } from '../core/errors.js';
import { getTenant, listActiveTenants, type TenantInfo } from '../core/tenants.js';
import { ROLLUP_VIEWS } from './attendance/dashboard-views.js';
import { rollupTenant, type TenantRollupResult } from './attendance/rollup.js';
import { defineJob } from './define-job.js';

export const attendanceRollup = defineJob({
  name: 'attendance-rollup',
  description:
    'Recompute attendance rollups (monthly, enrollment, daily ADA, chronic flags) for changed students',
  payload: z.object({
    /** One tenant; omitted = every active tenant. */
    tenantId: z.guid().optional(),
    /** Rebuild everything instead of only the dirty set. */
    full: z.boolean().optional(),
  }),
  schedule: { cron: '15 2 * * *' },
  queue: { concurrency: 1, attempts: 3, backoffMs: 60_000 },
  async run({ tenantId, full }, ctx) {
    // Removed tenants leave dirty entries nobody will claim.
    if (!tenantId) {
      for (const table of ['attendance_rollup_dirty', 'attendance_rollup_claims']) {
        await sql`DELETE FROM ${sql.table(table)} d WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = d.tenant_id)`.execute(
          ctx.db,
        );
      }
    }
    const tenants: TenantInfo[] = tenantId
      ? [await getTenant(ctx.db, tenantId)]
      : await listActiveTenants(ctx.db);
    const results: TenantRollupResult[] = [];
    const failed: { tenantId: string; error: string }[] = [];
    for (const [index, tenant] of tenants.entries()) {
      // Stopping part-way must fail the job so the queue runs the remaining tenants again.
      ctx.signal.throwIfAborted();
      try {
        const result = await rollupTenant(ctx.db, tenant, {
          full: full ?? false,
          today: localDate(ctx.clock.now(), tenant.timeZone),
          workMem: ctx.config.ATTENDANCE_ROLLUP_WORK_MEM,
        });
        ctx.log.info(result, 'attendance rollup done');
        results.push(result);
      } catch (error) {
        // One tenant's bad policy must not hold back the others' rollups in an all-tenant run.
        if (!(error instanceof InputError) || tenantId) throw error;
        ctx.log.error({ tenantId: tenant.id, err: error }, 'attendance rollup refused: bad input');
        failed.push({ tenantId: tenant.id, error: error.message });
      }
      await ctx.progress(Math.round(((index + 1) * 100) / Math.max(tenants.length, 1)));
    }
    const changed = results.some((r) => r.changed);
    let refreshJobId: string | undefined;
    if (changed) {
      refreshJobId = await ctx.enqueue(
        'mv-refresh',
        { views: ROLLUP_VIEWS },
        { jobId: `mv-refresh.after.${ctx.jobId}` },
      );
    }
    if (failed.length > 0) {
      throw new InputError(
        `rolled up ${results.length} tenant(s) but refused ${failed.length}: ${failed
          .map((f) => `tenant ${f.tenantId}: ${f.error}`)
          .join('; ')}`,
        'settings.attendance',
      );
    }
    return { tenants: results, changed, refreshJobId };
  },
});
