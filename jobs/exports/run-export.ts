// One export run: claim the row, stream the report into a temporary file, rename it into place
// when complete (DirectoryStorage.writeAtomically), record size, rows, checksum and expiry.
// Safe to run twice: a completed export whose file exists is left alone, and a crash mid-write
// leaves only a `.partial-` temporary that is never served and that the next attempt ignores.

import { errorMessage, isUnrecoverable } from '../../core/errors.js';
import { DirectoryStorage, type FileStorage } from '../../core/storage.js';
import type { JobContext } from '../define-job.js';
import './heap.js';
import {
  getExport,
  markCancelled,
  markCompleted,
  markFailed,
  markRunning,
  recordProgress,
} from './records.js';
import { renderExport } from './render.js';
import { prepareExport } from './request.js';

/** Attempts the queue gives an export; the last failed one marks the row failed for good. */
export const EXPORT_ATTEMPTS = 3;
/** How often, at most, a running export writes its progress (and looks for a cancel). */
const PROGRESS_EVERY_MS = 250;

export class ExportCancelled extends Error {
  override name = 'ExportCancelled';
}

export interface ExportResult {
  exportId: string;
  status: string;
  rows?: number;
  size?: number;
  sha256?: string;
  storageKey?: string;
  skipped?: boolean;
}

export function storageFor(ctx: Pick<JobContext, 'config'>): FileStorage {
  return new DirectoryStorage(ctx.config.EXPORT_DIR);
}

export async function runExport(
  payload: { exportId: string; tenantId: string },
  ctx: JobContext,
  storage: FileStorage = storageFor(ctx),
): Promise<ExportResult> {
  const { exportId, tenantId } = payload;
  const record = await getExport(ctx.db, tenantId, exportId);
  if (record.status === 'completed' && record.storage_key && (await storage.exists(record.storage_key))) {
    ctx.log.info({ exportId }, 'export already completed; nothing to do');
    return { exportId, status: 'completed', rows: record.row_count ?? 0, skipped: true };
  }
  if (record.status === 'cancelled' || record.status === 'expired') {
    return { exportId, status: record.status, skipped: true };
  }
  const now = ctx.clock.now();
  const claimed = await markRunning(ctx.db, tenantId, exportId, ctx.jobId, now);
  if (!claimed) return { exportId, status: record.status, skipped: true };

  const key = `${tenantId}/${exportId}.${record.format}`;
  let lastReport = 0;
  try {
    const request = { template: record.template_id, format: record.format, filters: record.filters };
    const prepared = await prepareExport(ctx.db, tenantId, request, { config: ctx.config, now });
    let rows = 0;
    const stored = await storage.writeAtomically(key, async (out) => {
      rows = await renderExport(ctx.db, out, {
        tenantId,
        template: prepared.template,
        format: prepared.format,
        filters: prepared.prepared,
        env: prepared.env,
        config: ctx.config,
        generatedAt: now,
        async onBatch(written) {
          if (ctx.signal.aborted) throw new Error('the worker is stopping; the export will be retried');
          const at = Date.now();
          if (at - lastReport < PROGRESS_EVERY_MS) return;
          lastReport = at;
          const status = await recordProgress(ctx.db, tenantId, exportId, written);
          if (status === 'cancelled') throw new ExportCancelled(`export ${exportId} was cancelled`);
          await ctx.progress({ rows: written });
        },
      });
    });
    const finishedAt = ctx.clock.now();
    const fileName = `${prepared.template.id}-${prepared.env.today}.${record.format}`;
    const completed = await markCompleted(ctx.db, tenantId, exportId, {
      key,
      name: fileName,
      size: stored.size,
      sha256: stored.sha256,
      rows,
      now: finishedAt,
      expiresAt: new Date(finishedAt.getTime() + ctx.config.EXPORT_TTL_HOURS * 3_600_000),
    });
    if (!completed) {
      // Cancelled between the last batch and the end: honour the cancel, serve nothing.
      await storage.remove(key);
      return { exportId, status: 'cancelled' };
    }
    await ctx.progress({ rows });
    return { exportId, status: 'completed', rows, size: stored.size, sha256: stored.sha256, storageKey: key };
  } catch (error) {
    if (error instanceof ExportCancelled) {
      await markCancelled(ctx.db, tenantId, exportId, ctx.clock.now());
      return { exportId, status: 'cancelled' };
    }
    // Bad input never gets better; anything else is retried until the last attempt.
    const final = isUnrecoverable(error) || ctx.lastAttempt !== false;
    await markFailed(
      ctx.db,
      tenantId,
      exportId,
      final ? 'failed' : 'queued',
      errorMessage(error),
      ctx.clock.now(),
    ).catch((markError) => ctx.log.warn({ err: markError, exportId }, 'could not record the export failure'));
    throw error;
  }
}
