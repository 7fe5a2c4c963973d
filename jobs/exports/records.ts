// The exports table: one row per requested export. Every read and write goes through withTenant,
// so the API and the job can only ever touch the requesting school's rows (RLS on exports).
import { type Selectable, sql } from 'kysely';
import type { ExportsTable } from '../../core/database-types.js';
import type { Db } from '../../core/db.js';
import { NotFoundError } from '../../core/errors.js';
import { assertUuid, withTenant } from '../../core/tenant-scope.js';

/** An exports row as read back (kysely's selectable form of the table type). */
export type ExportRecord = Selectable<ExportsTable>;

export async function insertExport(
  db: Db,
  row: {
    id: string;
    tenantId: string;
    templateId: string;
    format: string;
    filters: Record<string, unknown>;
    requestedBy?: string | null;
    jobId: string;
    now: Date;
  },
): Promise<ExportRecord> {
  return withTenant(db, row.tenantId, async (trx) => {
    const { rows } = await sql<ExportRecord>`
      INSERT INTO exports (id, tenant_id, template_id, format, filters, requested_by, job_id, created_at)
      VALUES (${row.id}, ${row.tenantId}, ${row.templateId}, ${row.format}, ${JSON.stringify(row.filters)}::jsonb,
              ${row.requestedBy ?? null}, ${row.jobId}, ${row.now})
      RETURNING *`.execute(trx);
    return rows[0]!;
  });
}

export async function findExport(db: Db, tenantId: string, id: string): Promise<ExportRecord | undefined> {
  assertUuid(id, 'id');
  return withTenant(db, tenantId, async (trx) => {
    const { rows } = await sql<ExportRecord>`SELECT * FROM exports WHERE id = ${id}`.execute(trx);
    return rows[0];
  });
}

export async function getExport(db: Db, tenantId: string, id: string): Promise<ExportRecord> {
  const record = await findExport(db, tenantId, id);
  if (!record) throw new NotFoundError(`no export ${id} in this school`, 'exportId');
  return record;
}

export async function listExports(db: Db, tenantId: string, limit: number): Promise<ExportRecord[]> {
  return withTenant(db, tenantId, async (trx) => {
    const { rows } = await sql<ExportRecord>`
      SELECT * FROM exports ORDER BY created_at DESC, id LIMIT ${limit}`.execute(trx);
    return rows;
  });
}

/** Update one export under the tenant's RLS; returns the row after the update, if the guard held. */
async function update(
  db: Db,
  tenantId: string,
  id: string,
  set: ReturnType<typeof sql>,
  guard: ReturnType<typeof sql> = sql`TRUE`,
): Promise<ExportRecord | undefined> {
  return withTenant(db, tenantId, async (trx) => {
    const { rows } = await sql<ExportRecord>`
      UPDATE exports SET ${set} WHERE id = ${id} AND ${guard} RETURNING *`.execute(trx);
    return rows[0];
  });
}

/** Claim for a run: queued, a crashed earlier attempt (running) or a retried failure. */
export function markRunning(db: Db, tenantId: string, id: string, jobId: string, now: Date) {
  return update(
    db,
    tenantId,
    id,
    sql`status = 'running', started_at = ${now}, job_id = ${jobId}, progress = 0, error = NULL`,
    sql`status IN ('queued', 'running', 'failed')`,
  );
}

/** Record rows written so far; returns the current status so a running job notices a cancel. */
export async function recordProgress(db: Db, tenantId: string, id: string, rows: number) {
  const record = await update(db, tenantId, id, sql`progress = ${rows}`);
  return record?.status;
}

export function markCompleted(
  db: Db,
  tenantId: string,
  id: string,
  file: { key: string; name: string; size: number; sha256: string; rows: number; now: Date; expiresAt: Date },
) {
  return update(
    db,
    tenantId,
    id,
    sql`status = 'completed', storage_key = ${file.key}, file_name = ${file.name}, file_size = ${file.size},
        row_count = ${file.rows}, checksum_sha256 = ${file.sha256}, progress = ${file.rows},
        finished_at = ${file.now}, expires_at = ${file.expiresAt}, error = NULL`,
    sql`status = 'running'`,
  );
}

export function markFailed(
  db: Db,
  tenantId: string,
  id: string,
  status: 'failed' | 'queued',
  error: string,
  now: Date,
) {
  return update(
    db,
    tenantId,
    id,
    sql`status = ${status}, error = ${error.slice(0, 2000)}, finished_at = ${status === 'failed' ? now : null}`,
    sql`status IN ('queued', 'running')`,
  );
}

/** Cancel a queued or running export; a running job sees it at its next progress report. */
export function markCancelled(db: Db, tenantId: string, id: string, now: Date) {
  return update(
    db,
    tenantId,
    id,
    sql`status = 'cancelled', finished_at = ${now}`,
    sql`status IN ('queued', 'running')`,
  );
}

/** A completed export past its expiry: the file is gone (or about to be) and the row says so. */
export function markExpired(db: Db, tenantId: string, id: string) {
  return update(db, tenantId, id, sql`status = 'expired'`, sql`status = 'completed'`);
}

/** What the API and CLI show: no storage internals, sizes as numbers. */
export function publicView(record: ExportRecord) {
  return {
    id: record.id,
    template: record.template_id,
    format: record.format,
    filters: record.filters,
    status: record.status,
    progress: record.progress,
    rows: record.row_count,
    size: record.file_size,
    sha256: record.checksum_sha256,
    fileName: record.file_name,
    error: record.error,
    requestedBy: record.requested_by,
    createdAt: record.created_at,
    startedAt: record.started_at,
    finishedAt: record.finished_at,
    expiresAt: record.expires_at,
  };
}
