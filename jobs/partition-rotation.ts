// Nightly monthly partition rotation for attendance and audit_logs (issue 5): months ahead are
// created, rows stuck in the default partition rescued, months past retention detached, archived
// when configured, and dropped. Attendance is never dropped unless ATTENDANCE_RETENTION_MONTHS is
// set (student records); audit_logs follow the tenants' retention (see jobs/audit/retention-policy).
import { z } from 'zod';
import { assertMaintenanceRole } from '../core/db.js';
import { addMonths, monthStart } from '../core/partitions.js';
import { auditPartitionCutoff, loadAuditRetention } from './audit/retention-policy.js';
import { defineJob } from './define-job.js';
import { assertArchiveWritable } from './partitions/archive.js';
import { ADVISORY_KEYS, withAdvisoryLock } from './partitions/locks.js';
import { rotateTable, type TableRotation } from './partitions/rotate-table.js';
import { archiveStorage, MAX_PREMAKE_MONTHS, rotationSettings } from './partitions/rotation-settings.js';

const payload = z.object({
  premakeMonths: z
    .number()
    .int()
    .min(1, 'create at least 1 month ahead')
    .max(MAX_PREMAKE_MONTHS, `create at most ${MAX_PREMAKE_MONTHS} months ahead`)
    .optional(),
  archive: z.enum(['none', 'csv-gzip']).optional(),
});

export interface RotationResult {
  skipped?: string;
  tables: { attendance?: TableRotation; audit_logs?: TableRotation };
  rowsMoved: number;
  deferred: string[];
  retryJobId?: string;
}

export const partitionRotation = defineJob({
  name: 'partition-rotation',
  description: 'Create monthly partitions ahead, rescue default-partition rows, retire months past retention',
  payload,
  schedule: { cron: '15 1 * * *' },
  queue: { concurrency: 1, attempts: 3, backoffMs: 60_000 },
  async run(input, ctx): Promise<RotationResult> {
    // Everything that could be bad input is checked before any DDL runs.
    const settings = rotationSettings(ctx.config, input);
    const policies = await loadAuditRetention(ctx.db, ctx.config);
    const storage = archiveStorage(settings);
    if (storage) await assertArchiveWritable(storage, settings.archiveDir);
    await assertMaintenanceRole(ctx.db);

    const now = ctx.clock.now();
    const heldTenants = policies.filter((p) => p.legalHold).map((p) => p.tenantId);
    const locks = {
      ...settings.locks,
      signal: ctx.signal,
      onRetry: (attempt: number, delayMs: number) =>
        ctx.log.info({ attempt, delayMs }, 'partition lock busy; retrying'),
    };
    const deps = { clock: ctx.clock, log: ctx.log, signal: ctx.signal };
    const locked = await withAdvisoryLock(ctx.db, ADVISORY_KEYS.partitionDdl, async (conn) => {
      const common = { premakeMonths: settings.premakeMonths, moveBatchSize: settings.moveBatchSize, locks };
      const attendance = await rotateTable(
        conn,
        'attendance',
        now,
        {
          ...common,
          archive: storage,
          retentionCutoff:
            settings.attendanceRetentionMonths === null
              ? null
              : addMonths(monthStart(now), -settings.attendanceRetentionMonths),
          heldTenants,
        },
        deps,
      );
      await ctx.progress(50);
      const auditLogs = await rotateTable(
        conn,
        'audit_logs',
        now,
        {
          ...common,
          archive: storage,
          retentionCutoff: auditPartitionCutoff(policies, ctx.config.AUDIT_RETENTION_DAYS, now),
          heldTenants,
          exactCounts: ctx.config.AUDIT_EXACT_DROP_COUNTS === 'true',
        },
        deps,
      );
      await ctx.progress(100);
      return { attendance, audit_logs: auditLogs };
    });
    if (!locked.acquired) {
      ctx.log.info('another partition rotation holds the lock; skipped');
      return { skipped: 'another rotation is running', tables: {}, rowsMoved: 0, deferred: [] };
    }
    const tables = locked.value;
    const deferred = [...tables.attendance.deferred, ...tables.audit_logs.deferred];
    const result: RotationResult = {
      tables,
      rowsMoved: tables.attendance.rowsMoved + tables.audit_logs.rowsMoved,
      deferred,
    };
    if (deferred.length > 0) {
      // A busy lock postpones the step, it does not fail the nightly cycle: retry later today.
      const at = new Date(now.getTime() + settings.retryDelayMs);
      const slot = at.toISOString().slice(0, 16).replace(/[-:]/g, '');
      result.retryJobId = await ctx.enqueue('partition-rotation', input, {
        jobId: `partition-rotation.all.${slot}Z`,
        delayMs: settings.retryDelayMs,
      });
    }
    ctx.log.info(
      {
        created: [...tables.attendance.created, ...tables.audit_logs.created],
        rowsMoved: result.rowsMoved,
        retired: [...tables.attendance.retired, ...tables.audit_logs.retired].map((r) => r.name),
        deferred,
      },
      'partition rotation finished',
    );
    return result;
  },
});
