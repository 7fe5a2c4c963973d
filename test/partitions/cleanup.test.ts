import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.js';
import { auditCleanup, type CleanupResult } from '../../jobs/audit-cleanup.js';
import { parsePayload } from '../../jobs/define-job.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { countRows, createTenant, FAST_LOCKS, insertAudit, partitionsOf, rotate } from './helpers.js';

const NOW = '2026-03-16T12:00:00Z';

interface CleanupDetails extends Record<string, unknown> {
  complete: boolean;
  auditLogs: { rowsDeleted: number; rowsInDroppedPartitions: number };
}

describe('audit cleanup', () => {
  let db: TestDatabase;
  let exportDir: string;
  const t: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
  let env: Record<string, string>;

  const cleanup = (
    options: { payload?: unknown; signal?: AbortSignal; onProgress?: (v: unknown) => void } = {},
  ) => {
    const ctx = testJobContext(db.db, {
      now: NOW,
      env,
      ...(options.signal ? { signal: options.signal } : {}),
      async progress(value) {
        options.onProgress?.(value);
      },
    });
    return auditCleanup.run(
      parsePayload(auditCleanup, options.payload ?? { batchSize: 100 }),
      ctx,
    ) as Promise<CleanupResult>;
  };
  const entries = async (tenantId: string) =>
    (
      await sql<{ new_values: CleanupDetails; actor: string; created_at: Date }>`
        SELECT new_values, actor, created_at FROM audit_logs
        WHERE tenant_id = ${tenantId} AND action = 'retention-cleanup' ORDER BY id`.execute(db.db)
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase();
    exportDir = await mkdtemp(path.join(tmpdir(), 'cleanup-test-'));
    env = { ...FAST_LOCKS, EXPORT_DIR: exportDir };
    // a: default retention (730 days), b: one year, c: legal hold with a one-month retention.
    t.a = await createTenant(db.db, 'a');
    t.b = await createTenant(db.db, 'b', { audit: { retentionDays: 365 } });
    t.c = await createTenant(db.db, 'c', { audit: { retentionDays: 31, legalHold: true } });
    for (const id of [t.a, t.b])
      await insertAudit(db.db, id, '2023-06-01T00:00:00Z', '2023-06-30T00:00:00Z', 30);
    for (const id of [t.a, t.b, t.c]) {
      await insertAudit(db.db, id, '2023-07-01T00:00:00Z', '2023-07-30T00:00:00Z', 10);
      await insertAudit(db.db, id, '2026-02-01T00:00:00Z', '2026-02-28T00:00:00Z', 20);
    }
    await insertAudit(db.db, t.b, '2024-10-01T00:00:00Z', '2025-01-31T00:00:00Z', 250);
    await insertAudit(db.db, t.a, '2024-10-01T00:00:00Z', '2025-01-31T00:00:00Z', 50);
    // Rotation gives every month its partition (keeping everything: retention is cleanup's test).
    await rotate(db.db, { now: NOW, env: { AUDIT_RETENTION_DAYS: '3650' } }).run;

    // Exports: a's expired one (with its file), a's live one, c's expired one (on hold).
    await mkdir(path.join(exportDir, t.a), { recursive: true });
    await writeFile(path.join(exportDir, t.a, 'old.csv'), 'x');
    await sql`
      INSERT INTO exports (tenant_id, template_id, format, status, storage_key, expires_at) VALUES
        (${t.a}, 'roster', 'csv', 'completed', ${`${t.a}/old.csv`}, '2026-03-10T00:00:00Z'),
        (${t.a}, 'roster', 'csv', 'completed', ${`${t.a}/new.csv`}, '2026-03-20T00:00:00Z'),
        (${t.a}, 'roster', 'csv', 'running', NULL, '2026-03-01T00:00:00Z'),
        (${t.c}, 'roster', 'csv', 'completed', ${`${t.c}/old.csv`}, '2026-03-10T00:00:00Z')`.execute(db.db);
    // Run records: 90 days kept by default.
    await sql`
      INSERT INTO job_runs (job_id, kind, tenant_id, attempt, status, started_at) VALUES
        ('j1', 'digest', ${t.a}, 1, 'completed', '2025-11-01T00:00:00Z'),
        ('j2', 'digest', ${t.a}, 1, 'completed', '2026-03-01T00:00:00Z'),
        ('j3', 'rollup', NULL, 1, 'completed', '2025-10-01T00:00:00Z'),
        ('j4', 'digest', ${t.c}, 1, 'completed', '2025-10-01T00:00:00Z')`.execute(db.db);
    // Email deliveries: 400 days kept by default.
    for (const id of [t.b, t.c]) {
      const guardian = await sql<{ id: string }>`
        INSERT INTO guardians (tenant_id, first_name, last_name) VALUES (${id}, 'G', 'H') RETURNING id`.execute(
        db.db,
      );
      await sql`
        INSERT INTO email_deliveries (tenant_id, guardian_id, digest_kind, period_start, period_end, status, created_at)
        VALUES (${id}, ${guardian.rows[0]!.id}, 'weekly', '2024-09-02', '2024-09-08', 'sent', '2024-09-09T00:00:00Z'),
               (${id}, ${guardian.rows[0]!.id}, 'weekly', '2026-03-02', '2026-03-08', 'sent', '2026-03-09T00:00:00Z')`.execute(
        db.db,
      );
    }
  });
  afterAll(async () => {
    await db.drop();
    await rm(exportDir, { recursive: true, force: true });
  });

  it('refuses a retention over the maximum or a bad legal-hold flag before deleting anything', async () => {
    const total = await countRows(db.db, 'audit_logs');
    await sql`UPDATE tenants SET settings = '{"audit": {"retentionDays": 99999}}' WHERE id = ${t.a}`.execute(
      db.db,
    );
    await expect(cleanup()).rejects.toThrow(InputError);
    await expect(cleanup()).rejects.toThrow(
      /tenant a settings\.audit\.retentionDays: .* to 3650 \(AUDIT_RETENTION_MAX_DAYS\)/,
    );
    await sql`UPDATE tenants SET settings = '{"audit": {"legalHold": "yes"}}' WHERE id = ${t.a}`.execute(
      db.db,
    );
    await expect(cleanup()).rejects.toThrow(/tenant a settings\.audit\.legalHold: must be true or false/);
    await sql`UPDATE tenants SET settings = '{}' WHERE id = ${t.a}`.execute(db.db);
    expect(() => cleanup({ payload: { batchSize: 0 } })).toThrow(/payload\.batchSize/);
    expect(() => testJobContext(db.db, { env: { AUDIT_RETENTION_DAYS: '0' } })).toThrow(
      /AUDIT_RETENTION_DAYS/,
    );
    expect(() => testJobContext(db.db, { env: { AUDIT_RETENTION_DAYS: '5000' } })).toThrow(
      /AUDIT_RETENTION_DAYS: must not exceed AUDIT_RETENTION_MAX_DAYS \(3650\)/,
    );
    expect(await countRows(db.db, 'audit_logs')).toBe(total);
  });

  it('skips when another cleanup holds the advisory lock', async () => {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock(5005, 2)');
      expect((await cleanup()).skipped).toMatch(/another audit cleanup/);
    } finally {
      await other.end();
    }
  });

  it('a run killed half-way through a tenant is completed by the next, nothing lost or deleted twice', async () => {
    const controller = new AbortController();
    await expect(
      cleanup({
        signal: controller.signal,
        onProgress: (value) => {
          const v = value as { phase?: string; tenant?: string };
          if (v.phase === 'audit-rows' && v.tenant === 'b') controller.abort();
        },
      }),
    ).rejects.toThrow(/interrupted; the next run continues/);
    // The fast path ran: June 2023 (a and b only) dropped whole; July 2023 holds c's rows, so it stays.
    const parts = await partitionsOf(db.db, 'audit_logs');
    expect(parts).not.toContain('audit_logs_p2023_06');
    expect(parts).toContain('audit_logs_p2023_07');
    const [bFirst] = await entries(t.b);
    expect(bFirst!.new_values).toMatchObject({ complete: false, auditLogs: { rowsDeleted: 100 } });
    expect(bFirst!.new_values.auditLogs.rowsInDroppedPartitions).toBe(30);

    const result = await cleanup();
    expect(result.tenants.b?.auditRowsDeleted).toBe(160);
    const bEntries = await entries(t.b);
    const deletedOverall = bEntries.reduce((sum, e) => sum + e.new_values.auditLogs.rowsDeleted, 0);
    // b: 10 rows of July 2023 and 250 of Oct 2024-Jan 2025 are past its one-year retention.
    expect(deletedOverall).toBe(260);
    expect(
      await countRows(db.db, 'audit_logs', sql`tenant_id = ${t.b} AND action <> 'retention-cleanup'`),
    ).toBe(20);
  });

  it('applies each tenant retention, the legal hold and the engine records, and writes an audit entry per tenant', async () => {
    // a keeps two years: its July 2023 rows went, its 2024-25 rows stay.
    expect(
      await countRows(db.db, 'audit_logs', sql`tenant_id = ${t.a} AND action <> 'retention-cleanup'`),
    ).toBe(70);
    // c is on legal hold: nothing of c was removed, though its retention is one month.
    expect(
      await countRows(db.db, 'audit_logs', sql`tenant_id = ${t.c} AND action <> 'retention-cleanup'`),
    ).toBe(30);
    const exports = await sql<{ tenant_id: string; status: string; expires_at: Date }>`
      SELECT tenant_id, status, expires_at FROM exports ORDER BY tenant_id, expires_at`.execute(db.db);
    expect(exports.rows).toHaveLength(3);
    expect(
      exports.rows
        .filter((e) => e.tenant_id === t.a)
        .map((e) => e.status)
        .sort(),
    ).toEqual(['completed', 'running']);
    await expect(
      writeFile(path.join(exportDir, t.a, 'old.csv'), '', { flag: 'wx' }),
    ).resolves.toBeUndefined();
    const runs = await sql<{ job_id: string }>`SELECT job_id FROM job_runs ORDER BY job_id`.execute(db.db);
    expect(runs.rows.map((r) => r.job_id)).toEqual(['j2', 'j4']);
    expect(await countRows(db.db, 'email_deliveries', sql`tenant_id = ${t.b}`)).toBe(1);
    expect(await countRows(db.db, 'email_deliveries', sql`tenant_id = ${t.c}`)).toBe(2);

    // a's first entry comes from the interrupted run (its audit rows), the second from the run that
    // finished the engine records.
    const [aFirst, aSecond, ...more] = await entries(t.a);
    expect(more).toHaveLength(0);
    for (const entry of [aFirst!, aSecond!]) {
      expect(entry.actor).toBe('engine:audit-cleanup');
      expect(entry.created_at.toISOString()).toBe('2026-03-16T12:00:00.000Z');
    }
    expect(aFirst!.new_values).toMatchObject({
      legalHold: false,
      complete: true,
      auditLogs: {
        retentionDays: 730,
        cutoff: '2024-03-16T12:00:00.000Z',
        rowsDeleted: 10,
        rowsInDroppedPartitions: 30,
        partitionsDropped: ['audit_logs_p2023_06'],
      },
      exports: { removed: 0 },
    });
    expect(aSecond!.new_values).toMatchObject({
      auditLogs: { rowsDeleted: 0, rowsInDroppedPartitions: 0 },
      exports: { removed: 1 },
      jobRuns: { removed: 1, cutoff: '2025-12-16T12:00:00.000Z' },
    });
    const [, bSecond] = await entries(t.b);
    expect(bSecond!.new_values).toMatchObject({
      emailDeliveries: { removed: 1, cutoff: '2025-02-09T12:00:00.000Z' },
    });
    const cEntries = await entries(t.c);
    expect(cEntries.at(-1)!.new_values).toMatchObject({ legalHold: true, auditLogs: { rowsDeleted: 0 } });
  });

  it('is a no-op when run again', async () => {
    const result = await cleanup();
    expect(result.fastPath.partitionsDropped).toEqual([]);
    expect(result.auditRowsDeleted).toBe(0);
    expect(result.exportsRemoved + result.jobRunsRemoved + result.emailDeliveriesRemoved).toBe(0);
    expect(Object.keys(result.tenants)).toEqual(['c']); // only the legal-hold notice
  });
});

describe('audit cleanup that fails half-way', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('still writes the tenant entry for what it removed, through another pooled connection', async () => {
    const tenant = await createTenant(db.db, 'b', { audit: { retentionDays: 365 } });
    await insertAudit(db.db, tenant, '2024-10-01T00:00:00Z', '2025-01-31T00:00:00Z', 250);
    let killed = false;
    const ctx = testJobContext(db.db, {
      now: NOW,
      env: FAST_LOCKS,
      async progress(value) {
        if (killed || (value as { phase?: string }).phase !== 'audit-rows') return;
        killed = true;
        // The run's pinned connection is the one holding the cleanup's advisory lock (5005, 2).
        await sql`
          SELECT pg_terminate_backend(pid) FROM pg_locks
          WHERE locktype = 'advisory' AND classid = 5005 AND objid = 2 AND granted`.execute(db.db);
      },
    });
    await expect(auditCleanup.run(parsePayload(auditCleanup, { batchSize: 100 }), ctx)).rejects.toThrow();
    expect(killed).toBe(true);
    const { rows } = await sql<{ new_values: CleanupDetails }>`
      SELECT new_values FROM audit_logs WHERE tenant_id = ${tenant} AND action = 'retention-cleanup'`.execute(
      db.db,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.new_values.auditLogs.rowsDeleted).toBe(100);
    expect(await countRows(db.db, 'audit_logs', sql`action <> 'retention-cleanup'`)).toBe(150);
  });

  it('a step that fails surfaces its own error, and the entry says the run did not complete', async () => {
    const tenant = await createTenant(db.db, 'c', { audit: { retentionDays: 365 } });
    await insertAudit(db.db, tenant, '2024-10-01T00:00:00Z', '2025-01-31T00:00:00Z', 40);
    await sql`INSERT INTO job_runs (job_id, kind, tenant_id, attempt, status, started_at)
              VALUES ('old-1', 'test', ${tenant}, 1, 'completed', '2024-01-01T00:00:00Z')`.execute(db.db);
    // The engine-records step (after the audit rows are gone) fails with an error of its own.
    await sql`CREATE FUNCTION refuse_job_runs_delete() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'job_runs are being audited: no deletes today'; END $$`.execute(db.db);
    await sql`CREATE TRIGGER refuse_delete BEFORE DELETE ON job_runs
              FOR EACH ROW EXECUTE FUNCTION refuse_job_runs_delete()`.execute(db.db);
    const run = () =>
      auditCleanup.run(
        parsePayload(auditCleanup, { batchSize: 100 }),
        testJobContext(db.db, { now: NOW, env: FAST_LOCKS }),
      );
    try {
      await expect(run()).rejects.toThrow(/no deletes today/);
      const { rows: recorded } = await sql<{ new_values: CleanupDetails }>`
        SELECT new_values FROM audit_logs WHERE tenant_id = ${tenant} AND action = 'retention-cleanup'`.execute(
        db.db,
      );
      expect(recorded).toHaveLength(1);
      expect(recorded[0]!.new_values.complete).toBe(false);
      expect(recorded[0]!.new_values.auditLogs.rowsDeleted).toBe(40);
    } finally {
      await sql`DROP TRIGGER refuse_delete ON job_runs`.execute(db.db);
      await sql`DROP FUNCTION refuse_job_runs_delete()`.execute(db.db);
    }
    await run();
    expect(await countRows(db.db, 'job_runs', sql`job_id = 'old-1'`)).toBe(0);
  });
});
