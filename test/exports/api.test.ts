// The export API on a bare express app, as issue 3's dashboard mounts it ({ path: '/api/exports',
// auth: 'own' }), with a real BullMQ queue behind `enqueue`: tenant-admin auth (401/403), own
// tenant only (list, status, download), bad input 400 naming the field, signed expiring links.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import express from 'express';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis } from '../../core/redis.js';
import { signToken } from '../../core/signing.js';
import { DirectoryStorage } from '../../core/storage.js';
import { mintApiToken } from '../../dashboard/api-auth.js';
import { createExportsRouter } from '../../dashboard/exports-api.js';
import { runExport } from '../../jobs/exports/run-export.js';
import { testConfig, testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { type ExportFixture, NOW, parseCsv, SECRET, setUpExportData } from './helpers.js';

let database: TestDatabase;
let fx: ExportFixture;
let server: ReturnType<express.Express['listen']>;
let base: string;
let queue: Queue;
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', silentLogger, 'test');
const clock = new ManualClock(NOW);
const tokens: Record<string, string> = {};
const users: Record<string, string> = {};
const RANGE = { from: '2026-02-01', to: '2026-03-16' };

async function userId(tenantId: string, role: string): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    SELECT id FROM users WHERE tenant_id = ${tenantId} AND role = ${role} ORDER BY email LIMIT 1`.execute(
    database.db,
  );
  return rows[0]!.id;
}

beforeAll(async () => {
  database = await createTestDatabase();
  fx = await setUpExportData(database);
  const config = testConfig(fx.env);
  queue = new Queue('export', { connection: redis, prefix: `test-${randomUUID()}` });
  const app = express();
  app.use(
    '/api/exports',
    createExportsRouter({
      db: database.db,
      config,
      clock,
      log: silentLogger,
      async enqueue(kind, payload, options) {
        const job = await queue.add(kind, payload, { jobId: options?.jobId });
        return job.id!;
      },
    }),
  );
  server = app.listen(0);
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/exports`;
  users.adminA = await userId(fx.tenantA, 'admin');
  users.principalA = await userId(fx.tenantA, 'principal');
  users.teacherA = await userId(fx.tenantA, 'teacher');
  users.adminB = await userId(fx.tenantB, 'admin');
  const mint = (tenantId: string, user: string) =>
    mintApiToken(database.db, config, { tenantId, userId: user, now: clock.now() }).then((m) => m.token);
  tokens.adminA = await mint(fx.tenantA, users.adminA);
  tokens.principalA = await mint(fx.tenantA, users.principalA);
  tokens.adminB = await mint(fx.tenantB, users.adminB);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await queue.obliterate({ force: true });
  await queue.close();
  redis.disconnect();
  await database.drop();
});

function call(method: string, path: string, token?: string, body?: unknown) {
  return fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function exportCount(): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM exports`.execute(database.db);
  return rows[0]!.n;
}

/** Request through the API, then play the worker: run the enqueued job in-process. */
async function requestAndRun(token: string, tenantId: string, body: unknown) {
  const created = await call('POST', '/', token, body);
  expect(created.status).toBe(202);
  const record = (await created.json()) as { id: string };
  const job = await queue.getJob(`export.${record.id}`);
  expect(job?.data).toEqual({ exportId: record.id, tenantId });
  await runExport(job!.data, testJobContext(database.db, { now: NOW, env: fx.env }));
  return record.id;
}

describe('authentication', () => {
  it('refuses a missing, malformed, tampered or expired token with 401', async () => {
    expect((await call('GET', '/')).status).toBe(401);
    expect((await call('GET', '/', 'not-a-token')).status).toBe(401);
    const [body, signature] = tokens.adminA!.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...claims, tenantId: fx.tenantB })).toString('base64url')}.${signature}`;
    expect((await call('GET', '/', forged)).status).toBe(401);
    const expired = signToken(SECRET, { ...claims, exp: Math.floor(Date.parse(NOW) / 1000) - 1 });
    expect((await call('GET', '/', expired)).status).toBe(401);
  });

  it('refuses with 403 a non-admin, and a token pairing a school with another school’s admin', async () => {
    const teacher = signToken(SECRET, { purpose: 'api', tenantId: fx.tenantA, userId: users.teacherA! });
    const res = await call('GET', '/', teacher);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/admin or principal/);
    const crossed = signToken(SECRET, { purpose: 'api', tenantId: fx.tenantA, userId: users.adminB! });
    expect((await call('GET', '/', crossed)).status).toBe(403);
    await sql`UPDATE users SET status = 'suspended' WHERE id = ${users.principalA}`.execute(database.db);
    expect((await call('GET', '/', tokens.principalA)).status).toBe(403);
    await sql`UPDATE users SET status = 'active' WHERE id = ${users.principalA}`.execute(database.db);
    expect((await call('GET', '/', tokens.principalA)).status).toBe(200);
    // Minting refuses a non-admin up front, too.
    await expect(
      mintApiToken(database.db, testConfig(fx.env), {
        tenantId: fx.tenantA,
        userId: users.teacherA!,
        now: clock.now(),
      }),
    ).rejects.toThrow(/admin or principal/);
  });
});

describe('requests', () => {
  it('lists templates with their formats and filters', async () => {
    const res = await call('GET', '/templates', tokens.adminA);
    const { templates } = (await res.json()) as { templates: { id: string; formats: string[] }[] };
    expect(templates.map((t) => t.id)).toEqual([
      'user-roster',
      'class-enrollment',
      'attendance-report',
      'attendance-summary',
      'payment-ledger',
      'invoice-aging',
      'report-card',
    ]);
    expect(templates.find((t) => t.id === 'report-card')!.formats).toEqual(['pdf']);
  });

  it('bad input is a 400 naming the field, with no row and no job', async () => {
    const before = await exportCount();
    const jobsBefore = await queue.getJobCountByTypes('waiting', 'delayed');
    const bad: [unknown, string][] = [
      [{ template: 'nope', format: 'csv' }, 'template'],
      [{ template: 'user-roster', format: 'exe' }, 'format'],
      [
        { template: 'attendance-report', format: 'csv', filters: { from: '2026-03-01', to: '2026-02-01' } },
        'filters.to',
      ],
      [
        { template: 'attendance-report', format: 'csv', filters: { ...RANGE, status: "x' OR 1=1 --" } },
        'filters.status',
      ],
      [{ template: 'user-roster', format: 'csv', filters: 'role=admin' }, 'filters'],
      ['{not json', 'body'],
    ];
    for (const [body, field] of bad) {
      const res = await call('POST', '/', tokens.adminA, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { field: string }).field).toBe(field);
    }
    expect(await exportCount()).toBe(before);
    expect(await queue.getJobCountByTypes('waiting', 'delayed')).toBe(jobsBefore);
  });

  it('records, enqueues, reports progress and serves the file through a signed link', async () => {
    const id = await requestAndRun(tokens.adminA!, fx.tenantA, {
      template: 'attendance-report',
      format: 'csv',
      filters: RANGE,
    });
    const res = await call('GET', `/${id}`, tokens.adminA);
    const view = (await res.json()) as {
      status: string;
      rows: number;
      progress: number;
      requestedBy: string;
      links: { download: string };
    };
    expect(view).toMatchObject({ status: 'completed', requestedBy: users.adminA });
    expect(view.progress).toBe(view.rows);
    expect(view.links.download).toMatch(/\/api\/exports\/.+\/download\?token=/);

    const link = new URL(view.links.download);
    const download = await fetch(`${base}/${id}/download${link.search}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toMatch(/text\/csv/);
    expect(download.headers.get('content-disposition')).toContain('attendance-report-2026-03-16.csv');
    const rows = parseCsv((await download.text()).replace(/^\uFEFF/, ''));
    expect(rows.length - 1).toBe(view.rows);

    // The same link for another export id, or edited, is refused.
    const other = await requestAndRun(tokens.adminA!, fx.tenantA, { template: 'user-roster', format: 'csv' });
    expect((await fetch(`${base}/${other}/download${link.search}`)).status).toBe(403);
    expect((await fetch(`${base}/${id}/download${link.search}x`)).status).toBe(403);

    // After the expiry the link stops working, and the file goes.
    clock.advance(73 * 3_600_000);
    try {
      expect((await fetch(`${base}/${id}/download${link.search}`)).status).toBe(403);
      expect((await call('GET', `/${id}/download`, tokens.adminA)).status).toBe(410);
      expect(await new DirectoryStorage(fx.dir).exists(`${fx.tenantA}/${id}.csv`)).toBe(false);
      expect((await call('GET', `/${id}`, tokens.adminA).then((r) => r.json())) as object).toMatchObject({
        status: 'expired',
        links: { download: null },
      });
    } finally {
      clock.set(NOW);
    }
  });

  it("another school's admin cannot see, list, cancel or download an export", async () => {
    const id = await requestAndRun(tokens.adminA!, fx.tenantA, { template: 'user-roster', format: 'xlsx' });
    const own = await requestAndRun(tokens.adminB!, fx.tenantB, { template: 'user-roster', format: 'csv' });
    expect((await call('GET', `/${id}`, tokens.adminB)).status).toBe(404);
    expect((await call('GET', `/${id}/download`, tokens.adminB)).status).toBe(404);
    expect((await call('POST', `/${id}/cancel`, tokens.adminB)).status).toBe(404);
    const listB = (await (await call('GET', '/', tokens.adminB)).json()) as { exports: { id: string }[] };
    expect(listB.exports.map((e) => e.id)).toEqual([own]);
    const listA = (await (await call('GET', '/', tokens.adminA)).json()) as { exports: { id: string }[] };
    expect(listA.exports.map((e) => e.id)).toContain(id);
    expect(listA.exports.map((e) => e.id)).not.toContain(own);
    // Its own admin may download with the bearer token instead of a link.
    const mine = await call('GET', `/${id}/download`, tokens.adminA);
    expect(mine.status).toBe(200);
    expect(
      Buffer.from(await mine.arrayBuffer())
        .subarray(0, 2)
        .toString(),
    ).toBe('PK');
  });

  it('cancels a queued export; the job then does nothing', async () => {
    const created = await call('POST', '/', tokens.adminA, { template: 'user-roster', format: 'pdf' });
    const { id } = (await created.json()) as { id: string };
    const cancel = await call('POST', `/${id}/cancel`, tokens.adminA);
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as { status: string }).status).toBe('cancelled');
    const result = await runExport(
      { exportId: id, tenantId: fx.tenantA },
      testJobContext(database.db, { now: NOW, env: fx.env }),
    );
    expect(result.status).toBe('cancelled');
    expect((await call('POST', `/${id}/cancel`, tokens.adminA)).status).toBe(409);
    expect((await call('GET', `/${id}/download`, tokens.adminA)).status).toBe(409);
  });
});
