// mv-refresh: refresh the dashboard materialized views, all of them or the named ones, in
// dependency order. The nightly attendance-rollup enqueues it for the views it feeds once it has
// written something; its own schedule refreshes the views that do not depend on the rollup.
import { z } from 'zod';
import { DASHBOARD_VIEWS, parseViewNames, refreshView } from './attendance/dashboard-views.js';
import { defineJob } from './define-job.js';

export const mvRefresh = defineJob({
  name: 'mv-refresh',
  description: `Refresh dashboard materialized views concurrently (${DASHBOARD_VIEWS.join(', ')})`,
  payload: z.object({
    /** One view by name. */
    view: z.string().optional(),
    /** Several views by name; neither = all. */
    views: z.array(z.string()).optional(),
  }),
  schedule: {
    cron: '0 3 * * *',
    payload: () => ({ views: ['teacher_workload', 'invoice_aging'] }),
  },
  queue: { concurrency: 1, attempts: 3, backoffMs: 30_000 },
  async run(payload, ctx) {
    const views = payload.view
      ? parseViewNames([payload.view], 'payload.view')
      : parseViewNames(payload.views, 'payload.views');
    const results = [];
    for (const [index, view] of views.entries()) {
      if (ctx.signal.aborted) break;
      const outcome = await refreshView(ctx.db, view);
      ctx.log.info(outcome, outcome.refreshed ? 'view refreshed' : 'view refresh skipped');
      results.push(outcome);
      await ctx.progress(Math.round(((index + 1) * 100) / views.length));
    }
    return { views: results };
  },
});
