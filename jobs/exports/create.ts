// Requesting an export (API and CLI): validate everything first, then record the row (queued) and
// enqueue job `export.<id>`. Bad input writes nothing; if the queue cannot take the job, the row
// is marked failed at once instead of sitting in "queued" forever.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../core/config.js';
import type { Db } from '../../core/db.js';
import { errorMessage, InfraError } from '../../core/errors.js';
import type { JobContext } from '../define-job.js';
import { type ExportRecord, insertExport, markFailed } from './records.js';
import { type ExportRequest, prepareExport } from './request.js';

export function exportJobId(exportId: string): string {
  return `export.${exportId}`;
}

export async function requestExport(
  db: Db,
  options: {
    tenantId: string;
    request: ExportRequest;
    requestedBy?: string | null;
    config: Config;
    now: Date;
    /** Omit to record the export without enqueueing (the CLI then runs it in-process). */
    enqueue?: JobContext['enqueue'];
  },
): Promise<ExportRecord> {
  const prepared = await prepareExport(db, options.tenantId, options.request, {
    config: options.config,
    now: options.now,
  });
  const id = randomUUID();
  const jobId = exportJobId(id);
  const record = await insertExport(db, {
    id,
    tenantId: options.tenantId,
    templateId: prepared.template.id,
    format: prepared.format,
    filters: prepared.filters,
    requestedBy: options.requestedBy ?? null,
    jobId,
    now: options.now,
  });
  if (options.enqueue) {
    try {
      await options.enqueue('export', { exportId: id, tenantId: options.tenantId }, { jobId });
    } catch (error) {
      await markFailed(
        db,
        options.tenantId,
        id,
        'failed',
        `could not be queued: ${errorMessage(error)}`,
        options.now,
      );
      throw new InfraError(`the export could not be queued: ${errorMessage(error)}`, { cause: error });
    }
  }
  return record;
}
