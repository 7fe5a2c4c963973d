// Security (issue 9, item 6), beyond what test/engine/dashboard*.test.ts and the foundation's
// RLS and signing tests already prove: secrets and personal data stay out of a real process's
// logs and the run history; RLS holds on EVERY relation that carries tenant_id (enumerated from
// pg_catalog, so tables added later are covered without editing this file); HTTP security
// headers; signed links cannot be extended by editing them.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import type { Redis } from '../../core/redis.js';
import { signToken, verifyToken } from '../../core/signing.js';
import { withTenant } from '../../core/tenant-scope.js';
import { startDashboard } from '../../dashboard/server.js';
import type { Enqueuer } from '../../workers/queues.js';
import { testConfig } from '../helpers/context.js';
import type { TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';
import { effectOf, reliabilityJobs } from './fixtures/effect-jobs.js';
import { recordFigure } from './fixtures/figures.js';
import { type Harness, openHarness } from './fixtures/harness.js';
import { freePort, type Proc, startProcess, until } from './fixtures/processes.js';

let database: TestDatabase;
let redis: Redis;
let config: Config;
let enqueuer: Enqueuer;
let tenantA: string;
let tenantB: string;
const processes: Proc[] = [];

let harness: Harness;

beforeAll(async () => {
  harness = await openHarness('security-test', { poolSize: 4, processes });
  ({ database, config, redis, enqueuer } = harness);
  const summary = await seedSchools(database.db, { tenants: 2, students: 30, days: 10 });
  [tenantA, tenantB] = summary.tenants.map((tenant) => tenant.id) as [string, string];
});

afterAll(() => harness?.close());

describe('security', () => {
  it('keeps secrets and personal data out of the logs of a running engine and out of run history', async () => {
    const secrets = {
      dashboardPassword: 'dash-pw-7f3a9c21-do-not-log',
      signingSecret: 'signing-secret-4b8e2d6f0a1c3e5g7i9k-do-not-log',
      databasePassword: 'db-pw-91c7e3-do-not-log',
      wrongPassword: 'guessed-pw-55aa-do-not-log',
    };
    const person = {
      email: 'guardian.private@example.org',
      first_name: 'Zebedee-Private',
      phone: '+44 7700 900123',
    };
    const port = await freePort();
    const dbUrl = new URL(database.url);
    dbUrl.password = secrets.databasePassword; // trust auth on the test server ignores it; the logs must too
    const engine = startProcess(['start'], {
      DATABASE_URL: dbUrl.toString(),
      QUEUE_PREFIX: config.QUEUE_PREFIX,
      DASHBOARD_USER: 'operator',
      DASHBOARD_PASSWORD: secrets.dashboardPassword,
      SIGNING_SECRET: secrets.signingSecret,
      PORT: String(port),
      LOG_LEVEL: 'debug',
      SCHEDULER_GRACE_HOURS: '0',
      RUN_HISTORY_FLUSH_MS: '50',
    });
    processes.push(engine);
    await engine.waitFor(/dashboard: http/);

    const jobId = await enqueuer.enqueue('rel-notify', { guardian: person });
    await until(() => effectOf(database.db, 'rel-notify', jobId), 'the notify job');
    // A payload that fails validation, and wrong logins: error paths log too.
    await redis.call('PING');
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${url}/admin/queues`, {
        headers: {
          authorization: `Basic ${Buffer.from(`operator:${secrets.wrongPassword}`).toString('base64')}`,
        },
      });
      expect(response.status).toBe(401);
    }
    const ok = await fetch(`${url}/admin/queues/api/queues?activeQueue=rel-notify&status=completed`, {
      headers: {
        authorization: `Basic ${Buffer.from(`operator:${secrets.dashboardPassword}`).toString('base64')}`,
      },
    });
    expect(ok.status).toBe(200);
    // The board shows the job (not vacuous) but not the person in its data or return value.
    const board = await ok.text();
    expect(board).toContain('"guardian"');
    expect(board).toContain('[redacted]');
    const onBoard = Object.entries(person).filter(([, value]) => board.includes(value));
    expect(onBoard.map(([name]) => name)).toEqual([]);
    await engine.waitFor(/notifying guardian/);
    expect(await engine.kill('SIGTERM')).toBe(0);

    const output = engine.output();
    // Not vacuous: the handler's line about the guardian was logged, with the person redacted.
    expect(output).toMatch(/"email":"\[redacted\]".*"msg":"notifying guardian"/);
    const leaked = Object.entries({ ...secrets, ...person }).filter(([, value]) => output.includes(value));
    expect(leaked.map(([name]) => name)).toEqual([]);

    const runs = await database.db
      .selectFrom('job_runs')
      .select('payload')
      .where('kind', '=', 'rel-notify')
      .execute();
    expect(runs.length).toBeGreaterThan(0);
    const stored = JSON.stringify(runs);
    for (const value of Object.values(person)) expect(stored).not.toContain(value);
    recordFigure('security-logs', { secretsChecked: 4, personalFieldsChecked: 3, leaked: leaked.length });
  });

  it('the RLS role with another tenant set reads nothing of tenant A from any relation that has tenant_id', async () => {
    // Every table, partitioned table, partition, view and materialized view with a tenant_id
    // column, plus tenants itself (keyed by id).
    const { rows: relations } = await sql<{ name: string; kind: string; column: string }>`
      SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS kind, a.attname::text AS column
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND (a.attname = 'tenant_id' OR (c.relname = 'tenants' AND a.attname = 'id'))
      ORDER BY 1`.execute(database.db);
    expect(relations.length).toBeGreaterThan(15);

    const problems: string[] = [];
    let withRowsOfA = 0;
    for (const { name, column } of relations) {
      const ownerSees = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM ${sql.raw(name)} WHERE ${sql.ref(column)} = ${tenantA}`.execute(
        database.db,
      );
      const rowsOfA = ownerSees.rows[0]!.n;
      if (rowsOfA > 0) withRowsOfA++;
      // As tenant B, with a query that forgets the filter: either no access at all or no rows of A.
      const seen = await withTenant(database.db, tenantB, async (trx) => {
        await sql`SAVEPOINT probe`.execute(trx);
        try {
          const { rows } = await sql<{ n: number }>`
            SELECT count(*)::int AS n FROM ${sql.raw(name)} WHERE ${sql.ref(column)}::text <> ${tenantB}`.execute(
            trx,
          );
          return rows[0]!.n;
        } catch (error) {
          await sql`ROLLBACK TO SAVEPOINT probe`.execute(trx);
          if ((error as { code?: string }).code === '42501') return 'no access';
          throw error;
        }
      });
      if (seen !== 'no access' && seen > 0)
        problems.push(`${name}: tenant B sees ${seen} rows of other tenants`);
      // Not vacuous: where A has rows and the role has access, A itself sees them through RLS.
      if (rowsOfA > 0 && seen !== 'no access') {
        const own = await withTenant(database.db, tenantA, async (trx) => {
          const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.raw(name)}`.execute(
            trx,
          );
          return rows[0]!.n;
        });
        if (own !== rowsOfA) problems.push(`${name}: tenant A sees ${own} of its ${rowsOfA} rows`);
      }
    }
    expect(problems).toEqual([]);
    expect(withRowsOfA).toBeGreaterThan(10);

    // Every relation the RLS role may read that carries tenant_id is a table with RLS enabled and
    // forced (engine-only tables such as job_runs are simply not granted to it). A view granted
    // to it must run as the invoker or filter by app_current_tenant() itself; a materialized view
    // (which RLS cannot protect) must not be granted at all.
    const { rows: unprotected } = await sql<{ name: string }>`
      SELECT c.relname || ' (' || c.relkind::text || ')' AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
        AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
        AND has_table_privilege('school_app', c.oid, 'SELECT')
        AND NOT (c.relkind IN ('r', 'p') AND c.relrowsecurity AND c.relforcerowsecurity)
        AND NOT (c.relkind = 'v' AND coalesce(c.reloptions::text[] && ARRAY['security_invoker=true', 'security_invoker=on'], false))
        -- a security-barrier view that filters by the session's tenant itself (over a materialized view)
        AND NOT (c.relkind = 'v' AND pg_get_viewdef(c.oid) LIKE '%app_current_tenant()%')
      ORDER BY 1`.execute(database.db);
    expect(unprotected.map((row) => row.name)).toEqual([]);
    recordFigure('security-rls', {
      relationsChecked: relations.length,
      withTenantRows: withRowsOfA,
      leaks: problems.length,
    });
  });

  it('sends security headers on the dashboard, HSTS behind https, and no framework banner', async () => {
    const dashboardConfig = testConfig({
      QUEUE_PREFIX: config.QUEUE_PREFIX,
      DASHBOARD_USER: 'operator',
      DASHBOARD_PASSWORD: 'headers-test-password',
      PUBLIC_URL: 'https://reports.example.org',
    });
    const dashboard = await startDashboard({
      db: database.db,
      redis,
      config: { ...dashboardConfig, PORT: 0 },
      clock: systemClock,
      log: silentLogger,
      enqueue: enqueuer.enqueue,
      jobs: reliabilityJobs,
    });
    try {
      const auth = `Basic ${Buffer.from('operator:headers-test-password').toString('base64')}`;
      for (const [path, headers] of [
        ['/healthz', {}],
        ['/admin/queues', { authorization: auth }],
        ['/admin/queues', {}],
      ] as const) {
        const response = await fetch(`${dashboard.url}${path}`, { headers });
        const get = (name: string) => response.headers.get(name);
        expect(get('content-security-policy'), path).toMatch(/default-src 'self'/);
        expect(get('content-security-policy'), path).toMatch(/frame-ancestors 'self'/);
        expect(get('x-content-type-options'), path).toBe('nosniff');
        expect(get('x-frame-options'), path).toBe('SAMEORIGIN');
        expect(get('referrer-policy'), path).toBe('no-referrer');
        expect(get('strict-transport-security'), path).toMatch(/max-age=\d+/);
        expect(get('x-powered-by'), path).toBeNull();
        expect(get('cross-origin-opener-policy'), path).toBe('same-origin');
      }
      const refused = await fetch(`${dashboard.url}/admin/queues`);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    } finally {
      await dashboard.close();
    }
  });

  it('signed links cannot be extended, re-targeted or re-purposed by editing them', () => {
    const secret = 's'.repeat(40);
    const now = new Date('2026-03-16T12:00:00Z');
    const exp = Math.floor(now.getTime() / 1000) + 3600;
    const token = signToken(secret, { purpose: 'download', exp, tenantId: tenantA, exportId: 'e1' });
    expect(verifyToken(secret, token, 'download', now)).toMatchObject({ exportId: 'e1' });
    const [body, signature] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forge = (edit: Record<string, unknown>, raw?: string) =>
      `${Buffer.from(raw ?? JSON.stringify({ ...claims, ...edit })).toString('base64url')}.${signature}`;
    const attempts = [
      forge({ exp: exp + 365 * 86_400 }), // extended by a year
      forge({ exp: undefined }), // expiry removed
      forge({ tenantId: tenantB }), // another school
      forge({ exportId: 'e2' }), // another file
      forge({}, `${JSON.stringify(claims).slice(0, -1)},"exp":${exp + 86_400}}`), // duplicate key, last wins in JSON.parse
      `${body}.${signature.slice(0, -2)}`, // truncated signature
      `${body}.${signature}.${signature}`, // extra segment
      `${body}.`, // signature dropped
      `${body.toUpperCase()}.${signature}`,
    ];
    for (const forged of attempts)
      expect(() => verifyToken(secret, forged, 'download', now), forged).toThrow(/token/);
    // The same link used for another purpose, after expiry, or signed with another secret.
    expect(() => verifyToken(secret, token, 'unsubscribe', now)).toThrow(/not a unsubscribe token/);
    expect(() => verifyToken(secret, token, 'download', new Date((exp + 1) * 1000))).toThrow(/expired/);
    expect(() => verifyToken('t'.repeat(40), token, 'download', now)).toThrow(/invalid signature/);
  });
});
