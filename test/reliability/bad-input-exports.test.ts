// Bad input corpus, export API part (issue 9, item 5): malformed and hostile requests to the
// export API mounted the way the dashboard mounts it. Each must get a 4xx naming the problem,
// and no export may be recorded or enqueued for any of them.
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis, type Redis } from '../../core/redis.js';
import { signToken } from '../../core/signing.js';
import { mintApiToken } from '../../dashboard/api-auth.js';
import { createExportsRouter } from '../../dashboard/exports-api.js';
import { type RunningDashboard, startDashboard } from '../../dashboard/server.js';
import { testPrefix } from '../engine/fixtures/engine.js';
import { testConfig } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';
import { recordFigure } from './fixtures/figures.js';
import { rawHttp } from './fixtures/raw-http.js';

const SECRET = 'reliability-signing-secret-0123456789abcdef';
const clock = fixedClock('2026-03-16T12:00:00Z');
let database: TestDatabase;
let redis: Redis;
let queue: Queue;
let dashboard: RunningDashboard;
let tenantA: string;
let tenantB: string;
let tokenA: string;
let teacherTokenA: string | undefined;
let exportOfB: string;

async function userOf(tenantId: string, role: string): Promise<string | undefined> {
  const { rows } = await sql<{ id: string }>`
    SELECT id FROM users WHERE tenant_id = ${tenantId} AND role = ${role} ORDER BY email LIMIT 1`.execute(
    database.db,
  );
  return rows[0]?.id;
}

async function exportCount(): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM exports`.execute(database.db);
  return rows[0]!.n;
}

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 3 });
  const seeded = await seedSchools(database.db, { tenants: 2, students: 20, days: 10 });
  [tenantA, tenantB] = seeded.tenants.map((tenant) => tenant.id) as [string, string];
  const config = testConfig({
    QUEUE_PREFIX: testPrefix(),
    SIGNING_SECRET: SECRET,
    DASHBOARD_USER: 'operator',
    DASHBOARD_PASSWORD: 'reliability-dashboard-pw-2',
  });
  redis = createRedis(config.REDIS_URL, silentLogger, 'bad-input-exports');
  queue = new Queue('export', { connection: redis, prefix: config.QUEUE_PREFIX });
  const enqueue = async (kind: string, payload: unknown, options?: { jobId?: string }) => {
    const job = await queue.add(kind, payload as object, { jobId: options?.jobId });
    return job.id!;
  };
  const deps = { db: database.db, redis, config: { ...config, PORT: 0 }, clock, log: silentLogger, enqueue };
  dashboard = await startDashboard({
    ...deps,
    jobs: [],
    routers: [{ path: '/api/exports', router: createExportsRouter(deps), auth: 'own' }],
  });
  tokenA = (
    await mintApiToken(database.db, config, {
      tenantId: tenantA,
      userId: (await userOf(tenantA, 'admin'))!,
      now: clock.now(),
    })
  ).token;
  const teacher = await userOf(tenantA, 'teacher');
  if (teacher) {
    // Minting refuses a teacher; sign one the way a leaked secret would, to prove the role is re-checked.
    teacherTokenA = signToken(SECRET, {
      purpose: 'api',
      tenantId: tenantA,
      userId: teacher,
      exp: Math.floor(clock.now().getTime() / 1000) + 3600,
    });
  }
  const tokenB = (
    await mintApiToken(database.db, config, {
      tenantId: tenantB,
      userId: (await userOf(tenantB, 'admin'))!,
      now: clock.now(),
    })
  ).token;
  const created = await fetch(`${dashboard.url}/api/exports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokenB}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      template: 'attendance-report',
      format: 'csv',
      filters: { from: '2026-03-01', to: '2026-03-10' },
    }),
  });
  expect(created.status).toBe(202);
  exportOfB = ((await created.json()) as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await dashboard?.close();
  await queue?.obliterate({ force: true });
  await queue?.close();
  redis?.disconnect();
  await database?.drop();
});

describe('bad input corpus: export API', () => {
  it('answers every malformed or hostile request with a 4xx naming the problem and records nothing', async () => {
    const url = `${dashboard.url}/api/exports`;
    const json = (token: string | undefined, body: unknown, method = 'POST'): RequestInit => ({
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const range = { from: '2026-03-01', to: '2026-03-10' };
    const [body, signature] = tokenA.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...claims, tenantId: tenantB })).toString('base64url')}.${signature}`;
    const extended = `${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 86_400 * 365 })).toString('base64url')}.${signature}`;
    // Built as text: JSON.stringify itself would overflow the stack at this depth.
    const nested = `${'{"a":'.repeat(5000)}"${range.from}"${'}'.repeat(5000)}`;

    type Case = [string, () => Promise<{ status: number; text: string }>, number[], RegExp];
    const send = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${url}${path}`, init);
      return { status: response.status, text: await response.text() };
    };
    const cases: Case[] = [
      [
        'no token',
        () => send('', json(undefined, { template: 'attendance-report', format: 'csv', filters: range })),
        [401],
        /Bearer/,
      ],
      [
        'garbage token',
        () => send('', json('not.a.token', { template: 'attendance-report', format: 'csv', filters: range })),
        [401],
        /token/i,
      ],
      [
        'token re-targeted at another school',
        () => send('', json(forged, { template: 'attendance-report', format: 'csv', filters: range })),
        [401],
        /token|signature/i,
      ],
      [
        'token expiry extended',
        () => send('', json(extended, { template: 'attendance-report', format: 'csv', filters: range })),
        [401],
        /token|signature/i,
      ],
      [
        'token signed with another secret',
        () =>
          send(
            '',
            json(signToken('x'.repeat(40), claims), {
              template: 'attendance-report',
              format: 'csv',
              filters: range,
            }),
          ),
        [401],
        /token|signature/i,
      ],
      ['body not JSON', () => send('', json(tokenA, '{"template": ')), [400], /json|body|parse/i],
      ['body an array', () => send('', json(tokenA, [1, 2])), [400], /body/],
      [
        'unknown template',
        () => send('', json(tokenA, { template: 'salaries', format: 'csv', filters: range })),
        [400],
        /template/,
      ],
      [
        'template with CR/LF',
        () =>
          send(
            '',
            json(tokenA, { template: 'attendance-report\r\nX-Evil: 1', format: 'csv', filters: range }),
          ),
        [400],
        /template/,
      ],
      [
        'unknown format',
        () => send('', json(tokenA, { template: 'attendance-report', format: 'docx', filters: range })),
        [400],
        /format/,
      ],
      [
        'missing filters',
        () => send('', json(tokenA, { template: 'attendance-report', format: 'csv' })),
        [400],
        /filters/,
      ],
      [
        'inverted date range',
        () =>
          send(
            '',
            json(tokenA, {
              template: 'attendance-report',
              format: 'csv',
              filters: { from: '2026-03-10', to: '2026-03-01' },
            }),
          ),
        [400],
        /filters\.to/,
      ],
      [
        'huge date range',
        () =>
          send(
            '',
            json(tokenA, {
              template: 'attendance-report',
              format: 'csv',
              filters: { from: '1900-01-01', to: '2100-12-31' },
            }),
          ),
        [400],
        /EXPORT_MAX_RANGE_DAYS|range/,
      ],
      [
        'impossible date',
        () =>
          send(
            '',
            json(tokenA, {
              template: 'attendance-report',
              format: 'csv',
              filters: { from: '2026-02-30', to: '2026-03-01' },
            }),
          ),
        [400],
        /filters\.from/,
      ],
      [
        'class id not a UUID (SQL metacharacters)',
        () =>
          send(
            '',
            json(tokenA, {
              template: 'attendance-report',
              format: 'csv',
              filters: { ...range, classId: "1' OR '1'='1" },
            }),
          ),
        [400],
        /filters\.classId/,
      ],
      [
        'another school’s class id',
        () =>
          send(
            '',
            json(tokenA, {
              template: 'attendance-report',
              format: 'csv',
              filters: { ...range, classId: '00000000-0000-4000-8000-000000000001' },
            }),
          ),
        [400],
        /filters\.classId/,
      ],
      [
        'unknown filter',
        () =>
          send(
            '',
            json(tokenA, {
              template: 'attendance-report',
              format: 'csv',
              filters: { ...range, tenantId: tenantB },
            }),
          ),
        [400],
        /filters/,
      ],
      [
        'formula prefix in a filter',
        () =>
          send(
            '',
            json(tokenA, {
              template: 'attendance-report',
              format: 'csv',
              filters: { ...range, status: '=cmd|calc' },
            }),
          ),
        [400],
        /filters\.status/,
      ],
      [
        'deeply nested filter',
        () =>
          send(
            '',
            json(
              tokenA,
              `{"template":"attendance-report","format":"csv","filters":{"from":${nested},"to":"${range.to}"}}`,
            ),
          ),
        [400, 413],
        /filters\.from|too large|nested/i,
      ],
      [
        '10 MB body',
        () =>
          send(
            '',
            json(tokenA, {
              template: 'attendance-report',
              format: 'csv',
              filters: { ...range, status: 'x'.repeat(10 * 1024 * 1024) },
            }),
          ),
        [413],
        /large/i,
      ],
      [
        'list limit not a number',
        () => send('?limit=abc', { headers: { authorization: `Bearer ${tokenA}` } }),
        [400],
        /limit/,
      ],
      [
        'export id not a UUID',
        () => send("/1'%20OR%201=1", { headers: { authorization: `Bearer ${tokenA}` } }),
        [400, 404],
        /id|export/i,
      ],
      [
        'another school’s export',
        () => send(`/${exportOfB}`, { headers: { authorization: `Bearer ${tokenA}` } }),
        [404],
        /export/i,
      ],
      [
        'cancel another school’s export',
        () =>
          send(`/${exportOfB}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${tokenA}` } }),
        [404],
        /export/i,
      ],
      [
        'download with a forged link',
        () => send(`/${exportOfB}/download?token=${forged}`),
        [400, 401, 403, 404],
        /token|signature|export/i,
      ],
      ['download without a link', () => send(`/${exportOfB}/download`), [400, 401, 403], /token/i],
      [
        'invalid UTF-8 in the path',
        () =>
          rawHttp(
            url,
            `GET /api/exports/%ff%fe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokenA}\r\nConnection: close\r\n\r\n`,
          ),
        [400, 404],
        /./,
      ],
    ];
    if (teacherTokenA) {
      cases.push([
        'a teacher’s token',
        () => send('', json(teacherTokenA, { template: 'attendance-report', format: 'csv', filters: range })),
        [403],
        /admin|principal/,
      ]);
    }

    const recordsBefore = await exportCount();
    const queuedBefore = await queue.count();
    const failures: string[] = [];
    let handled = 0;
    for (const [name, request, statuses, message] of cases) {
      const result = await request().catch((error: Error) => ({ status: 0, text: error.message }));
      const ok =
        statuses.includes(result.status) &&
        message.test(result.text) &&
        !/\n\s+at |node_modules/.test(result.text);
      if (ok) handled++;
      else failures.push(`${name}: ${result.status} ${result.text.slice(0, 300)}`);
    }
    recordFigure('bad-input-exports', { tried: cases.length, handledCleanly: handled });
    expect(failures).toEqual([]);
    expect(await exportCount()).toBe(recordsBefore);
    expect(await queue.count()).toBe(queuedBefore);
    expect((await fetch(`${dashboard.url}/healthz`)).status).toBe(200);
  });
});
