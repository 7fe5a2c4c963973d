import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { countRows, createTenant, insertAudit, partitionsOf, rotate } from './helpers.js';

describe('locks', () => {
  let db: TestDatabase;
  let tenant: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    tenant = await createTenant(db.db, 'locks');
    await rotate(db.db, { now: '2026-03-16T12:00:00Z' }).run;
  });
  afterAll(async () => db.drop());

  it('skips when another rotation holds the advisory lock', async () => {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock(5005, 1)');
      const result = await rotate(db.db, { now: '2026-05-16T12:00:00Z' }).run;
      expect(result.skipped).toMatch(/another rotation/);
      expect(await partitionsOf(db.db, 'attendance')).not.toContain('attendance_p2026_08');
    } finally {
      await other.end();
    }
  });

  it('waits, retries and defers when a long report holds the default partition, without blocking inserts', async () => {
    const report = new pg.Client({ connectionString: db.url });
    const writer = new pg.Client({ connectionString: db.url });
    await report.connect();
    await writer.connect();
    try {
      await writer.query("SET statement_timeout = '5s'");
      await report.query('BEGIN');
      await report.query('SELECT count(*) FROM audit_logs'); // holds ACCESS SHARE on every partition
      const { ctx, run } = rotate(db.db, { now: '2026-05-16T12:00:00Z' });
      // A school keeps writing while rotation waits for its locks.
      let inserted = 0;
      const writes = (async () => {
        for (let i = 0; i < 10; i++) {
          await writer.query(
            `INSERT INTO audit_logs (tenant_id, created_at, action, resource_type) VALUES ($1, $2, 'update', 'attendance')`,
            [tenant, `2026-05-16T10:00:0${i}Z`],
          );
          inserted++;
        }
      })();
      const result = await run;
      await writes;
      expect(inserted).toBe(10);
      // Attendance was not locked by the report: its months were created.
      expect(result.tables.attendance?.created).toEqual(['attendance_p2026_07', 'attendance_p2026_08']);
      expect(result.tables.audit_logs?.created).toEqual([]);
      expect(result.deferred).toEqual([expect.stringMatching(/create audit_logs_p2026_07: .*lock timeout/)]);
      expect(ctx.enqueued).toEqual([
        {
          kind: 'partition-rotation',
          payload: {},
          options: { jobId: 'partition-rotation.all.20260516T1230Z', delayMs: 30 * 60_000 },
        },
      ]);
      expect(result.retryJobId).toBe('partition-rotation.all.20260516T1230Z');
    } finally {
      await report.query('ROLLBACK').catch(() => {});
      await report.end();
      await writer.end();
    }
    // Once the report has finished, the retry completes the work.
    const retry = await rotate(db.db, { now: '2026-05-16T12:30:00Z' }).run;
    expect(retry.tables.audit_logs?.created).toEqual(['audit_logs_p2026_07', 'audit_logs_p2026_08']);
    expect(retry.deferred).toEqual([]);
    expect(await countRows(db.db, 'audit_logs_p2026_05')).toBe(10);
  });
});

describe('archive before drop', () => {
  let db: TestDatabase;
  let tenant: string;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    tenant = await createTenant(db.db, 'archive');
    dir = await mkdtemp(path.join(tmpdir(), 'archive-test-'));
  });
  afterAll(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an archive directory that is not writable before detaching anything', async () => {
    await rotate(db.db, { now: '2023-01-10T00:00:00Z', env: { AUDIT_RETENTION_DAYS: '3650' } }).run;
    await insertAudit(db.db, tenant, '2023-01-02T00:00:00Z', '2023-01-30T00:00:00Z', 40);
    const blocker = path.join(dir, 'a-file');
    await writeFile(blocker, 'not a directory');
    const before = await partitionsOf(db.db, 'audit_logs');
    const { run } = rotate(db.db, {
      now: '2026-03-16T12:00:00Z',
      env: { PARTITION_ARCHIVE: 'csv-gzip', PARTITION_ARCHIVE_DIR: path.join(blocker, 'archive') },
    });
    await expect(run).rejects.toThrow(InputError);
    await expect(run).rejects.toThrow(/PARTITION_ARCHIVE_DIR: archive storage .* is not writable/);
    expect(await partitionsOf(db.db, 'audit_logs')).toEqual(before);
  });

  it('writes a gzip CSV whose rows and checksum match, then drops the month', async () => {
    // Awkward values survive the round trip: commas, quotes, newlines, empty strings and NULLs.
    await sql`
      INSERT INTO audit_logs (tenant_id, created_at, action, resource_type, user_agent, reason, old_values)
      VALUES (${tenant}, '2023-01-31T23:59:59Z', 'update', 'student', 'Mozilla "quoted", with comma', E'two\\nlines', '{"a": 1}'),
             (${tenant}, '2023-01-15T00:00:00Z', 'view', 'student', '', NULL, NULL)`.execute(db.db);
    await sql`CREATE TABLE expected AS SELECT * FROM audit_logs WHERE created_at < '2023-02-01'`.execute(
      db.db,
    );
    const result = await rotate(db.db, {
      now: '2026-03-16T12:00:00Z',
      env: { PARTITION_ARCHIVE: 'csv-gzip', PARTITION_ARCHIVE_DIR: dir },
    }).run;
    const retired = result.tables.audit_logs!.retired.find((r) => r.name === 'audit_logs_p2023_01')!;
    expect(retired.rows).toBe(42);
    expect(retired.rowsByTenant).toEqual({ [tenant]: 42 });
    expect(await partitionsOf(db.db, 'audit_logs')).not.toContain('audit_logs_p2023_01');

    const { rows } = await sql<{
      storage_key: string;
      row_count: number;
      checksum_sha256: string;
      byte_size: number;
    }>`
      SELECT storage_key, row_count, checksum_sha256, byte_size FROM partition_archives
      WHERE partition_name = 'audit_logs_p2023_01'`.execute(db.db);
    expect(rows[0]).toMatchObject({
      storage_key: 'archive/audit_logs/audit_logs_p2023_01.csv.gz',
      row_count: 42,
    });
    const file = path.join(dir, rows[0]!.storage_key);
    const bytes = await readFile(file);
    expect(bytes.length).toBe(rows[0]!.byte_size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(rows[0]!.checksum_sha256);

    // PostgreSQL itself reads the archive back into a table shaped like the original, row for row.
    const csvPath = path.join(dir, 'restore.csv');
    await writeFile(csvPath, gunzipSync(bytes));
    await chmod(dir, 0o755);
    await chmod(csvPath, 0o644);
    await sql`CREATE TABLE restored (LIKE expected)`.execute(db.db);
    await sql.raw(`COPY restored FROM '${csvPath}' WITH (FORMAT csv, HEADER)`).execute(db.db);
    const diff = await sql<{ missing: number; extra: number }>`
      SELECT (SELECT count(*) FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM restored) a) AS missing,
             (SELECT count(*) FROM (SELECT * FROM restored EXCEPT ALL SELECT * FROM expected) b) AS extra`.execute(
      db.db,
    );
    expect(await countRows(db.db, 'restored')).toBe(42);
    expect(diff.rows[0]).toEqual({ missing: 0, extra: 0 });
  });

  it('refuses a tenant retention shorter than a month before touching anything', async () => {
    await sql`UPDATE tenants SET settings = '{"audit": {"retentionDays": 10}}' WHERE id = ${tenant}`.execute(
      db.db,
    );
    const before = await partitionsOf(db.db, 'audit_logs');
    await expect(rotate(db.db, { now: '2030-03-16T12:00:00Z' }).run).rejects.toThrow(
      /tenant archive settings\.audit\.retentionDays: audit retention must be a whole number of days from 31/,
    );
    expect(await partitionsOf(db.db, 'audit_logs')).toEqual(before);
    await sql`UPDATE tenants SET settings = '{}' WHERE id = ${tenant}`.execute(db.db);
  });
});

describe('a table without a default partition', () => {
  let db: TestDatabase;
  afterAll(async () => db.drop());

  it('detaches months past retention CONCURRENTLY', async () => {
    db = await createTestDatabase();
    await sql`ALTER TABLE audit_logs DETACH PARTITION audit_logs_default`.execute(db.db);
    await sql`DROP TABLE audit_logs_default`.execute(db.db);
    const tenant = await createTenant(db.db, 'nodefault');
    await rotate(db.db, { now: '2023-01-10T00:00:00Z', env: { AUDIT_RETENTION_DAYS: '3650' } }).run;
    await insertAudit(db.db, tenant, '2023-01-02T00:00:00Z', '2023-01-30T00:00:00Z', 25);
    const result = await rotate(db.db, { now: '2026-03-16T12:00:00Z' }).run;
    expect(result.tables.audit_logs?.retired.map((r) => [r.name, r.rows])).toContainEqual([
      'audit_logs_p2023_01',
      25,
    ]);
    expect(await partitionsOf(db.db, 'audit_logs')).not.toContain('audit_logs_p2023_01');
    const leftovers = await sql<{ n: number }>`
      SELECT count(*) AS n FROM pg_class WHERE relname = 'audit_logs_p2023_01'`.execute(db.db);
    expect(leftovers.rows[0]!.n).toBe(0);
  });
});
