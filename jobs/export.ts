// Job kind `export`: render one requested export (see jobs/exports/run-export.ts). Enqueued by the
// export API and CLI with jobId `export.<exportId>`, so a double submit is one job.
import { z } from 'zod';
import { defineJob } from './define-job.js';
import { EXPORT_ATTEMPTS, runExport } from './exports/run-export.js';

export const exportJob = defineJob({
  name: 'export',
  description: 'Render a requested CSV, XLSX or PDF export into storage',
  payload: z.object({ exportId: z.uuid(), tenantId: z.uuid() }),
  queue: { concurrency: 2, attempts: EXPORT_ATTEMPTS, backoffMs: 10_000 },
  run: (payload, ctx) => runExport(payload, ctx),
});
