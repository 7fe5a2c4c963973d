// The export job's guarantees: tenant isolation by RLS even for a careless template, bad input
// rejected before anything is written, idempotent re-runs, cancel, and no partial file after a
// failure or a killed worker (and the retry completes).
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InputError } from '../../core/errors.js';
import { DirectoryStorage, readStored } from '../../core/storage.js';
import { getTenant } from '../../core/tenants.js';
import { defaultAttendancePolicy } from '../../jobs/attendance/policy.js';
import { requestExport } from '../../jobs/exports/create.js';
import { getExport, markCancelled } from '../../jobs/exports/records.js';
import { renderExport } from '../../jobs/exports/render.js';
import { runExport } from '../../jobs/exports/run-export.js';
import { defineTemplate } from '../../reports/types.js';
import { ROOT } from '../helpers/cli.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { type ExportFixture, NOW, parseCsv, setUpExportData } from './helpers.js';

let database: TestDatabase;
let fx: ExportFixture;
const RANGE = { from: '2026-02-01', to: '2026-03-16' };

beforeAll(async () => {
  database = await createTestDatabase();
  fx = await setUpExportData(database);
});
afterAll(() => database.drop());

const context = (env: Record<string, string> = {}, overrides = {}) =>
  testJobContext(database.db, { now: NOW, env: { ...fx.env, ...env }, ...overrides });

async function request(
  template: string,
  format: string,
  filters: Record<string, unknown> = {},
  tenantId = fx.tenantA,
) {
  const ctx = context();
  return requestExport(database.db, {
    tenantId,
    request: { template, format, filters },
    config: ctx.config,
    now: ctx.clock.now(),
  });
}

async function exportCount(): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM exports`.execute(database.db);
  return rows[0]!.n;
}

async function partials(): Promise<string[]> {
  const names = await readdir(path.join(fx.dir, fx.tenantA)).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith('.partial-'));
}

describe('tenant isolation', () => {
  it('a template that forgets its tenant filter still exports only the requesting school (RLS)', async () => {
    const careless = defineTemplate({
      id: 'careless',
      title: 'Careless',
      description: 'no tenant filter on purpose',
      formats: ['csv'],
      filters: z.strictObject({}),
      filterHelp: {},
      columns: [
        { key: 'student_number', header: 'No', type: 'text' },
        { key: 'tenant', header: 'Tenant', type: 'text' },
      ],
      query: () =>
        sql`SELECT student_number, tenant_id::text AS tenant FROM students ORDER BY student_number`,
    });
    const tenant = await getTenant(database.db, fx.tenantA);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk) => chunks.push(chunk));
    const rows = await renderExport(database.db, out, {
      tenantId: fx.tenantA,
      template: careless,
      format: 'csv',
      filters: {},
      env: { tenant, policy: defaultAttendancePolicy, today: '2026-03-16' },
      config: context().config,
      generatedAt: new Date(NOW),
    });
    const [, ...data] = parseCsv(Buffer.concat(chunks).toString('utf8').slice(1));
    const { rows: all } = await sql<{ tenant_id: string; n: number }>`
      SELECT tenant_id, count(*) AS n FROM students GROUP BY 1`.execute(database.db);
    // Without RLS the query would have returned both schools' students.
    expect(all.length).toBe(2);
    expect(new Set(data.map((r) => r[1]))).toEqual(new Set([fx.tenantA]));
    expect(rows).toBe(all.find((r) => r.tenant_id === fx.tenantA)!.n);
  });

  it("one school cannot run or read another school's export", async () => {
    const record = await request('user-roster', 'csv');
    await expect(runExport({ exportId: record.id, tenantId: fx.tenantB }, context())).rejects.toThrow(
      /no export/,
    );
    expect((await getExport(database.db, fx.tenantA, record.id)).status).toBe('queued');
  });
});

describe('bad input is refused before anything is recorded', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['no-such-report', 'csv', {}, 'template'],
    ['user-roster', 'docx', {}, 'format'],
    ['report-card', 'csv', {}, 'format'],
    ['attendance-report', 'csv', { from: 20260201, to: '2026-03-01' }, 'filters.from'],
    ['attendance-report', 'csv', { from: '2026-02-30', to: '2026-03-01' }, 'filters.from'],
    ['attendance-report', 'csv', { to: '2026-03-01' }, 'filters.from'],
    ['attendance-report', 'csv', { from: '2026-03-01', to: '2026-02-01' }, 'filters.to'],
    ['attendance-report', 'csv', { from: '2020-01-01', to: '2026-02-01' }, 'filters.to'],
    ['attendance-report', 'csv', { ...RANGE, status: "absent'; DROP TABLE exports; --" }, 'filters.status'],
    ['attendance-report', 'csv', { ...RANGE, classId: "1' OR '1'='1" }, 'filters.classId'],
    ['attendance-report', 'csv', { ...RANGE, colour: 'red' }, 'filters.colour'],
    ['user-roster', 'csv', { role: ['admin'] }, 'filters.role'],
  ];

  it.each(cases)('%s as %s with %j -> InputError on %s', async (template, format, filters, field) => {
    const before = await exportCount();
    const error = await request(template, format, filters).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
    expect(await exportCount()).toBe(before);
  });

  it("a class id of another school is 'not in this school', and nothing is enqueued", async () => {
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM classes WHERE tenant_id = ${fx.tenantB} LIMIT 1`.execute(database.db);
    const ctx = context();
    const before = await exportCount();
    const error = await requestExport(database.db, {
      tenantId: fx.tenantA,
      request: { template: 'attendance-report', format: 'csv', filters: { ...RANGE, classId: rows[0]!.id } },
      config: ctx.config,
      now: ctx.clock.now(),
      enqueue: ctx.enqueue,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/^filters\.classId: no class .* in this school/);
    expect(ctx.enqueued).toEqual([]);
    expect(await exportCount()).toBe(before);
  });

  it('the maximum range is configurable (EXPORT_MAX_RANGE_DAYS)', async () => {
    const ctx = context({ EXPORT_MAX_RANGE_DAYS: '7' });
    await expect(
      requestExport(database.db, {
        tenantId: fx.tenantA,
        request: { template: 'attendance-report', format: 'csv', filters: RANGE },
        config: ctx.config,
        now: ctx.clock.now(),
      }),
    ).rejects.toThrow(/maximum is 7/);
  });
});

describe('running an export', () => {
  it('records size, rows, checksum, expiry and progress, and a second run does nothing', async () => {
    const record = await request('attendance-report', 'csv', RANGE);
    const ctx = context({ EXPORT_FETCH_ROWS: '200' });
    const first = await runExport({ exportId: record.id, tenantId: fx.tenantA }, ctx);
    const done = await getExport(database.db, fx.tenantA, record.id);
    const storage = new DirectoryStorage(fx.dir);
    const content = await readStored(storage, done.storage_key!);
    expect(done).toMatchObject({ status: 'completed', row_count: first.rows, file_size: content.length });
    expect(done.progress).toBe(first.rows);
    expect(done.checksum_sha256).toBe(first.sha256);
    expect(done.expires_at!.getTime() - done.finished_at!.getTime()).toBe(72 * 3_600_000);
    expect(ctx.progressReports.at(-1)).toEqual({ rows: first.rows });

    const again = await runExport({ exportId: record.id, tenantId: fx.tenantA }, context());
    expect(again).toMatchObject({ status: 'completed', skipped: true, rows: first.rows });
    expect((await readStored(storage, done.storage_key!)).equals(content)).toBe(true);
    expect((await getExport(database.db, fx.tenantA, record.id)).finished_at).toEqual(done.finished_at);
  });

  it('a failure mid-stream leaves no file and no temporary; the retry completes', async () => {
    const record = await request('attendance-report', 'csv', RANGE);
    const controller = new AbortController();
    const ctx = context(
      { EXPORT_FETCH_ROWS: '100' },
      {
        signal: controller.signal,
        async progress() {
          controller.abort();
        },
      },
    );
    await expect(runExport({ exportId: record.id, tenantId: fx.tenantA }, ctx)).rejects.toThrow(/stopping/);
    const storage = new DirectoryStorage(fx.dir);
    const key = `${fx.tenantA}/${record.id}.csv`;
    expect(await storage.exists(key)).toBe(false);
    expect(await partials()).toEqual([]);
    const failed = await getExport(database.db, fx.tenantA, record.id);
    expect(failed.status).toBe('queued');
    expect(failed.error).toMatch(/stopping/);

    const retry = await runExport({ exportId: record.id, tenantId: fx.tenantA }, context({}, { attempt: 2 }));
    expect(retry.status).toBe('completed');
    expect(await storage.exists(key)).toBe(true);
  });

  it('a failure on the last attempt the queue allows marks the export failed, not queued', async () => {
    const record = await request('attendance-report', 'csv', RANGE);
    const controller = new AbortController();
    const ctx = context(
      { EXPORT_FETCH_ROWS: '100' },
      {
        lastAttempt: true,
        signal: controller.signal,
        async progress() {
          controller.abort();
        },
      },
    );
    await expect(runExport({ exportId: record.id, tenantId: fx.tenantA }, ctx)).rejects.toThrow(/stopping/);
    expect((await getExport(database.db, fx.tenantA, record.id)).status).toBe('failed');
  });

  it('a worker killed mid-export leaves no visible file, and the retried job completes', async () => {
    const record = await request('attendance-report', 'csv', RANGE);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'test/exports/hang-export.ts'),
        database.url,
        record.id,
        fx.tenantA,
        fx.dir,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('progress')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const key = `${fx.tenantA}/${record.id}.csv`;
    const storage = new DirectoryStorage(fx.dir);
    expect(await storage.exists(key)).toBe(false);
    const crashed = await getExport(database.db, fx.tenantA, record.id);
    expect(crashed.status).toBe('running');
    expect(crashed.progress).toBeGreaterThan(0);
    expect((await partials()).length).toBeGreaterThan(0);

    const retry = await runExport({ exportId: record.id, tenantId: fx.tenantA }, context({}, { attempt: 2 }));
    expect(retry.status).toBe('completed');
    const rows = parseCsv((await readStored(storage, key)).toString('utf8').slice(1));
    expect(rows.length - 1).toBe(retry.rows);
    // The dead attempt's temporary is swept by the storage cleanup, never served.
    expect(await storage.removeStaleTemporaries(0, new Date(Date.now() + 1000))).toBeGreaterThan(0);
    expect(await partials()).toEqual([]);
  });

  it('cancelling a queued export means the job does nothing', async () => {
    const record = await request('user-roster', 'csv');
    await markCancelled(database.db, fx.tenantA, record.id, new Date(NOW));
    const result = await runExport({ exportId: record.id, tenantId: fx.tenantA }, context());
    expect(result).toMatchObject({ status: 'cancelled', skipped: true });
    expect(await new DirectoryStorage(fx.dir).exists(`${fx.tenantA}/${record.id}.csv`)).toBe(false);
  });

  it('cancelling a running export stops it and leaves no file', async () => {
    const record = await request('attendance-report', 'xlsx', RANGE);
    const ctx = context(
      { EXPORT_FETCH_ROWS: '100' },
      {
        async progress() {
          await markCancelled(database.db, fx.tenantA, record.id, new Date(NOW));
        },
      },
    );
    const result = await runExport({ exportId: record.id, tenantId: fx.tenantA }, ctx);
    expect(result.status).toBe('cancelled');
    expect(await new DirectoryStorage(fx.dir).exists(`${fx.tenantA}/${record.id}.xlsx`)).toBe(false);
    expect((await getExport(database.db, fx.tenantA, record.id)).status).toBe('cancelled');
  });

  it('a PDF with more rows than EXPORT_PDF_MAX_ROWS fails for good and asks for csv or xlsx', async () => {
    const record = await request('attendance-report', 'pdf', RANGE);
    const ctx = context({ EXPORT_PDF_MAX_ROWS: '50', EXPORT_FETCH_ROWS: '100' });
    await expect(runExport({ exportId: record.id, tenantId: fx.tenantA }, ctx)).rejects.toThrow(
      /csv or xlsx/,
    );
    expect((await getExport(database.db, fx.tenantA, record.id)).status).toBe('failed');
    expect(await new DirectoryStorage(fx.dir).exists(`${fx.tenantA}/${record.id}.pdf`)).toBe(false);
  });
});
