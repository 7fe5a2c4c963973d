// The dashboard over real PostgreSQL and Redis, through real HTTP: authentication, lockout, CSRF,
// health probes, mounted routers, metrics and what Bull Board's API shows of job data.
import express from 'express';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../core/db.js';
import { ConfigError, InputError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis } from '../../core/redis.js';
import { createDashboardApp } from '../../dashboard/app.js';
import { QUEUE_DEPTH_METRIC } from '../../dashboard/metrics-endpoint.js';
import { startDashboard } from '../../dashboard/server.js';
import {
  basic,
  type DashboardFixture,
  dashboardConfig,
  nightlyTidy,
  parentNotice,
  startTestDashboard,
  testJobs,
} from './dashboard-fixtures.js';

let fixture: DashboardFixture;
let base: string;
const metrics = new Registry();
const runs = new Counter({
  name: 'school_job_runs_total',
  help: 'test counter standing in for the workers metrics',
  labelNames: ['kind', 'outcome'],
  registers: [metrics],
});

function ownRouter() {
  const router = express.Router();
  router.get('/ping', (_req, res) => res.json({ own: true }));
  return router;
}

function operatorRouter() {
  const router = express.Router();
  router.get('/ping', (_req, res) => res.json({ operator: true }));
  router.post('/touch', (_req, res) => res.json({ touched: true }));
  router.get('/bad', async () => {
    throw new InputError('must be a UUID', 'tenantId');
  });
  router.get('/broken', async () => {
    throw new Error('database password is hunter2');
  });
  return router;
}

beforeAll(async () => {
  fixture = await startTestDashboard({
    env: {
      DASHBOARD_LOCKOUT_ATTEMPTS: '3',
      DASHBOARD_LOCKOUT_SECONDS: '600',
      DASHBOARD_TRUST_PROXY: 'loopback',
    },
    metrics,
    routers: [
      { path: '/own', router: ownRouter(), auth: 'own' },
      { path: '/ops', router: operatorRouter(), auth: 'operator' },
    ],
  });
  base = fixture.dashboard.url;
});

afterAll(async () => {
  await fixture?.close();
});

describe('authentication', () => {
  it('answers 401 with a Basic challenge without credentials and 200 with them', async () => {
    const anonymous = await fetch(`${base}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);

    const page = await fetch(`${base}/admin/queues`, { headers: { authorization: basic() } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');

    const api = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: basic() } });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual([nightlyTidy.name, parentNotice.name].sort());
  });

  it('locks a client out with 429 and Retry-After after repeated wrong passwords, even for the right one', async () => {
    // All requests come from 127.0.0.1; the successful logins above reset its count.
    const wrong = { authorization: basic('operator', 'wrong password!') };
    expect((await fetch(`${base}/ops/ping`, { headers: wrong })).status).toBe(401);
    expect((await fetch(`${base}/ops/ping`, { headers: wrong })).status).toBe(401);
    const third = await fetch(`${base}/ops/ping`, { headers: wrong });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(500);
    const right = await fetch(`${base}/ops/ping`, { headers: { authorization: basic() } });
    expect(right.status).toBe(429);
    // Open routes are not affected by the lockout.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // Another client behind the trusted (loopback) proxy is not locked out by this one's failures.
    const otherClient = await fetch(`${base}/ops/ping`, {
      headers: { authorization: basic(), 'x-forwarded-for': '203.0.113.7' },
    });
    expect(otherClient.status).toBe(200);
  });
});

describe('in a fresh dashboard', () => {
  let other: DashboardFixture;
  let url: string;
  beforeAll(async () => {
    other = await startTestDashboard({
      metrics,
      routers: [
        { path: '/own', router: ownRouter(), auth: 'own' },
        { path: '/ops', router: operatorRouter(), auth: 'operator' },
      ],
    });
    url = other.dashboard.url;
  });
  afterAll(async () => {
    await other?.close();
  });

  it("mounts 'own' routers without Basic auth and 'operator' routers behind it", async () => {
    const own = await fetch(`${url}/own/ping`);
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual({ own: true });
    expect((await fetch(`${url}/ops/ping`)).status).toBe(401);
    const ops = await fetch(`${url}/ops/ping`, { headers: { authorization: basic() } });
    expect(await ops.json()).toEqual({ operator: true });
  });

  it('turns bad input into 400 naming the field, hides internal errors, and answers 404 in JSON', async () => {
    const auth = { authorization: basic() };
    const bad = await fetch(`${url}/ops/bad`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'tenantId: must be a UUID', field: 'tenantId' });
    const broken = await fetch(`${url}/ops/broken`, { headers: auth });
    expect(broken.status).toBe(500);
    expect(await broken.text()).not.toContain('hunter2');
    const missing = await fetch(`${url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: expect.stringContaining('/nowhere') });
  });

  it('refuses cross-origin and origin-less state changes with 403, allows same-origin ones', async () => {
    const auth = { authorization: basic() };
    const crossSite = await fetch(`${url}/ops/touch`, {
      method: 'POST',
      headers: { ...auth, origin: 'https://evil.example' },
    });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.text()).toContain('evil.example');

    const crossRetry = await fetch(`${url}/admin/queues/api/queues/${nightlyTidy.name}/retry/failed`, {
      method: 'PUT',
      headers: { ...auth, referer: 'https://evil.example/page' },
    });
    expect(crossRetry.status).toBe(403);

    expect((await fetch(`${url}/ops/touch`, { method: 'POST', headers: auth })).status).toBe(403);

    const sameOrigin = await fetch(`${url}/ops/touch`, { method: 'POST', headers: { ...auth, origin: url } });
    expect(sameOrigin.status).toBe(200);
    expect(await sameOrigin.json()).toEqual({ touched: true });
  });

  it('shows job data on the board with personal data redacted and blocks editing it', async () => {
    const job = await other.queue(parentNotice.name).add(parentNotice.name, {
      tenantId: 't-1',
      parent: { email: 'jane.doe@school.example', displayName: 'Jane Doe' },
      students: [{ id: 's1', fullLegalName: 'Ada Lovelace Doe' }],
      comment: 'copy to grandma@family.example',
    });
    const auth = { authorization: basic(), origin: url };
    const answer = await fetch(`${url}/admin/queues/api/queues/${parentNotice.name}/${job.id}`, {
      headers: auth,
    });
    expect(answer.status).toBe(200);
    const text = await answer.text();
    const shown = JSON.parse(text) as { job: { data: Record<string, unknown> } };
    expect(shown.job.data).toMatchObject({
      tenantId: 't-1',
      parent: { email: '[redacted]', displayName: '[redacted]' },
      students: [{ id: 's1', fullLegalName: '[redacted]' }],
      comment: 'copy to g***@family.example',
    });
    for (const secret of ['jane.doe', 'Jane Doe', 'Ada Lovelace', 'grandma@'])
      expect(text).not.toContain(secret);

    const edit = await fetch(`${url}/admin/queues/api/queues/${parentNotice.name}/${job.id}/update-data`, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ jobData: { parent: '[redacted]' } }),
    });
    expect(edit.status).toBe(403);
    // The stored payload is untouched.
    const stored = await other.queue(parentNotice.name).getJob(job.id!);
    expect(stored?.data.parent.displayName).toBe('Jane Doe');
  });

  it('lets an admin retry a failed job from the board (same origin)', async () => {
    const queue = other.queue(nightlyTidy.name);
    const job = await queue.add(nightlyTidy.name, {});
    // Move it to failed the way a worker would, without running one.
    const { Worker } = await import('bullmq');
    const worker = new Worker(
      nightlyTidy.name,
      async () => {
        throw new Error('disk full');
      },
      { connection: other.redis, prefix: other.config.QUEUE_PREFIX, autorun: false },
    );
    const failed = new Promise<void>((resolve) => worker.once('failed', () => resolve()));
    worker.run();
    await failed;
    await worker.close();
    expect(await job.getState()).toBe('failed');

    const retry = await fetch(`${url}/admin/queues/api/queues/${nightlyTidy.name}/${job.id}/retry`, {
      method: 'PUT',
      headers: { authorization: basic(), origin: url },
    });
    expect(retry.status).toBe(204);
    expect(await queue.getJobState(job.id!)).toBe('waiting');
  });

  it('serves Prometheus metrics behind auth: engine metrics and queue depths per kind', async () => {
    runs.inc({ kind: nightlyTidy.name, outcome: 'completed' });
    await other.queue(nightlyTidy.name).add(nightlyTidy.name, {}, { delay: 3_600_000 });
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const answer = await fetch(`${url}/metrics`, { headers: { authorization: basic() } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/plain');
    const text = await answer.text();
    expect(text).toContain('# TYPE school_job_runs_total counter');
    expect(text).toContain(`school_job_runs_total{kind="${nightlyTidy.name}",outcome="completed"} 1`);
    expect(text).toContain(`# TYPE ${QUEUE_DEPTH_METRIC} gauge`);
    expect(text).toContain(`${QUEUE_DEPTH_METRIC}{kind="${nightlyTidy.name}",state="delayed"} 1`);
    expect(text).toContain(`${QUEUE_DEPTH_METRIC}{kind="${parentNotice.name}",state="waiting"} 1`);
  });

  it('answers /healthz and /readyz without credentials', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', failed: [] });
  });
});

describe('readiness when a dependency is down', () => {
  it('answers 503 naming Redis or PostgreSQL when one cannot be reached', async () => {
    const config = dashboardConfig();
    const deadRedis = createRedis('redis://127.0.0.1:1', silentLogger, 'dead-redis', { lazyConnect: true });
    const deadPg = createDatabase('postgres://postgres@127.0.0.1:1/nothing', { log: silentLogger, max: 1 });
    const enqueue = async () => 'unused';
    const withDeadRedis = createDashboardApp(
      {
        db: fixture.database.db,
        redis: deadRedis,
        config,
        clock: fixture.deps.clock,
        log: silentLogger,
        enqueue,
      },
      { jobs: [], readyTimeoutMs: 300 },
    );
    const withDeadPg = createDashboardApp(
      { db: deadPg.db, redis: fixture.redis, config, clock: fixture.deps.clock, log: silentLogger, enqueue },
      { jobs: [], readyTimeoutMs: 2_000 },
    );
    const servers = [withDeadRedis.app.listen(0), withDeadPg.app.listen(0)];
    try {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.once('listening', resolve))));
      const [redisDown, pgDown] = await Promise.all(
        servers.map(async (s) => {
          const port = (s.address() as { port: number }).port;
          const res = await fetch(`http://127.0.0.1:${port}/readyz`);
          return { status: res.status, body: (await res.json()) as { failed: string[] } };
        }),
      );
      expect(redisDown).toMatchObject({ status: 503, body: { failed: ['redis'] } });
      expect(pgDown).toMatchObject({ status: 503, body: { failed: ['postgres'] } });
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      await Promise.all([withDeadRedis.close(), withDeadPg.close()]);
      deadRedis.disconnect();
      await deadPg.close();
    }
  });
});

describe('startDashboard', () => {
  it('stops listening and closes its queues on close(), once', async () => {
    const running = await startDashboard({ ...fixture.deps, config: dashboardConfig(), jobs: testJobs });
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    await Promise.all([running.close(), running.close()]);
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
    // The Redis connection belongs to the caller and stays usable.
    expect(await fixture.redis.ping()).toBe('PONG');
  });

  it('refuses to start without credentials, naming the settings', async () => {
    const config = { ...dashboardConfig(), DASHBOARD_PASSWORD: undefined };
    await expect(
      startDashboard({ ...fixture.deps, config, jobs: testJobs, routers: [] }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(startDashboard({ ...fixture.deps, config, jobs: testJobs })).rejects.toThrow(
      /DASHBOARD_USER and DASHBOARD_PASSWORD/,
    );
  });
});
