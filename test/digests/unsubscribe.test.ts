// The unsubscribe router end to end: a real digest's List-Unsubscribe link, a one-click POST, the
// opt-out recorded once, and the next run skipping that guardian. Bad links get a 400 page.

import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis } from '../../core/redis.js';
import { signToken } from '../../core/signing.js';
import { createDashboardApp } from '../../dashboard/app.js';
import { createUnsubscribeRouter } from '../../dashboard/unsubscribe.js';
import { attendanceDigest } from '../../jobs/attendance-digest.js';
import { parsePayload } from '../../jobs/define-job.js';
import { closeDigestMailers } from '../../jobs/digests/mailer.js';
import { unsubscribeToken } from '../../jobs/digests/unsubscribe-token.js';
import { testConfig, testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createDigestFixture, digestEnv, EMAIL, G, SECRET, T, WEEK } from './fixtures.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

let database: TestDatabase;
let sink: SmtpSink;
let server: Server;
let base: string;

const runDigest = (from = WEEK.from) =>
  attendanceDigest.run(
    parsePayload(attendanceDigest, { tenantId: T.a, from, to: WEEK.to }),
    testJobContext(database.db, { env: digestEnv(sink.url) }),
  );

async function optOut(guardianId: string) {
  const { rows } = await sql<{ digest_opt_out: boolean; digest_opted_out_at: Date | null }>`
    SELECT digest_opt_out, digest_opted_out_at FROM guardians WHERE id = ${guardianId}`.execute(database.db);
  return rows[0]!;
}

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSmtpSink();
  await createDigestFixture(database.db);
  const app = express();
  app.use(
    '/unsubscribe',
    createUnsubscribeRouter({
      db: database.db,
      config: testConfig(digestEnv(sink.url)),
      clock: fixedClock('2026-03-16T12:00:00Z'),
      log: silentLogger,
    }),
  );
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/unsubscribe`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await closeDigestMailers();
  await sink.close();
  await database.drop();
});

describe('unsubscribe', () => {
  it('a GET shows a confirmation page and changes nothing', async () => {
    const token = unsubscribeToken(SECRET, T.a, G.g2);
    const response = await fetch(`${base}?token=${encodeURIComponent(token)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const page = await response.text();
    expect(page).toContain('St. Mary&#39;s &lt;Academy&gt; &amp; Co');
    expect(page).toMatch(/<form method="post"/);
    expect((await optOut(G.g2)).digest_opt_out).toBe(false);
  });

  it("the email's List-Unsubscribe link, one-click POSTed, records the opt-out once; the next run skips", async () => {
    expect(await runDigest()).toMatchObject({ sent: 5 });
    const mail = sink.to(EMAIL.g1)[0]!.mail;
    const line = mail.headerLines.find((h) => h.key === 'list-unsubscribe')!.line;
    const link = new URL(/<([^>]+)>/.exec(line)![1]!);
    const oneClick = () =>
      fetch(`${base}${link.search}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
    expect((await oneClick()).status).toBe(200);
    const first = await optOut(G.g1);
    expect(first.digest_opt_out).toBe(true);
    expect(first.digest_opted_out_at).toBeInstanceOf(Date);
    // Idempotent: a second click keeps the first time and writes no second audit entry.
    expect((await oneClick()).status).toBe(200);
    expect((await optOut(G.g1)).digest_opted_out_at).toEqual(first.digest_opted_out_at);
    const { rows } = await sql<{ n: number }>`
      SELECT count(*) AS n FROM audit_logs WHERE resource_id = ${G.g1} AND action = 'guardian.digest_opt_out'`.execute(
      database.db,
    );
    expect(rows[0]!.n).toBe(1);
    // Only that guardian: the co-parent still gets digests.
    expect((await optOut(G.g2)).digest_opt_out).toBe(false);

    // From Tuesday: the other opted-out guardian's child (only Monday) has no school days then.
    const next = await runDigest('2026-03-10');
    expect(next).toMatchObject({ skipped: { optedOut: 1 } });
    const { rows: ledger } = await sql<{ status: string; reason_code: string }>`
      SELECT status, reason_code FROM email_deliveries
      WHERE guardian_id = ${G.g1} AND period_start = '2026-03-10'`.execute(database.db);
    expect(ledger).toEqual([{ status: 'skipped', reason_code: 'opted-out' }]);
    expect(sink.to(EMAIL.g1)).toHaveLength(1);
    expect(sink.to(EMAIL.g2)).toHaveLength(2);
  });

  it('the confirmation form posts the token in the body too', async () => {
    const token = unsubscribeToken(SECRET, T.a, G.g9);
    const response = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${encodeURIComponent(token)}`,
    });
    expect(response.status).toBe(200);
    expect((await optOut(G.g9)).digest_opt_out).toBe(true);
  });

  it('a bad, tampered, expired or wrong-purpose token gets a 400 page and records nothing', async () => {
    const good = unsubscribeToken(SECRET, T.a, G.g7);
    const [body, mac] = good.split('.') as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ purpose: 'unsubscribe', tenant: T.a, guardian: G.g2 }),
    ).toString('base64url');
    const tokens = [
      '',
      'garbage',
      `${forged}.${mac}`,
      `${body}.${mac}x`,
      signToken(SECRET, { purpose: 'unsubscribe', tenant: T.a, guardian: G.g7, exp: 1_700_000_000 }),
      signToken(SECRET, { purpose: 'download', tenant: T.a, guardian: G.g7 }),
      signToken('another-secret-0123456789abcdef0123456789', {
        purpose: 'unsubscribe',
        tenant: T.a,
        guardian: G.g7,
      }),
      signToken(SECRET, { purpose: 'unsubscribe', tenant: 'x', guardian: G.g7 }),
    ];
    for (const token of tokens) {
      for (const method of ['GET', 'POST']) {
        const response = await fetch(`${base}?token=${encodeURIComponent(token)}`, { method });
        expect(response.status, `${method} ${token}`).toBe(400);
        expect(await response.text()).toContain('This unsubscribe link is not valid');
      }
    }
    expect((await optOut(G.g7)).digest_opt_out).toBe(false);
  });

  it("speaks the digest's language: the guardian's locale, and the browser's for a broken link", async () => {
    const token = unsubscribeToken(SECRET, T.a, G.g7); // g7 reads French digests
    const confirm = await (await fetch(`${base}?token=${encodeURIComponent(token)}`)).text();
    expect(confirm).toContain('<html lang="fr">');
    expect(confirm).toContain('Ne plus recevoir les e-mails d&#39;assiduité ?');
    expect(confirm).toContain('Se désabonner');
    expect((await optOut(G.g7)).digest_opt_out).toBe(false);

    const english = await (
      await fetch(`${base}?token=${encodeURIComponent(unsubscribeToken(SECRET, T.a, G.g1))}`)
    ).text();
    expect(english).toContain('<html lang="en">');
    expect(english).toContain('Stop attendance emails?');

    const broken = await fetch(`${base}?token=garbage`, {
      headers: { 'Accept-Language': 'es-ES,es;q=0.9,en;q=0.5' },
    });
    expect(broken.status).toBe(400);
    const spanish = await broken.text();
    expect(spanish).toContain('<html lang="es">');
    expect(spanish).toContain('Este enlace para darse de baja no es válido');

    const done = await fetch(base, { method: 'POST', body: new URLSearchParams({ token }) });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Vous êtes désabonné');
    expect((await optOut(G.g7)).digest_opt_out).toBe(true);
  });
});

describe('mounted in the dashboard app (auth own)', () => {
  it('answers without dashboard credentials, under its security headers, and records the opt-out', async () => {
    const config = {
      ...testConfig({
        ...digestEnv(sink.url),
        DASHBOARD_USER: 'operator',
        DASHBOARD_PASSWORD: 'correct horse battery staple',
        QUEUE_PREFIX: `test-${randomUUID().slice(0, 18)}`,
      }),
    };
    const redis = createRedis(config.REDIS_URL, silentLogger, 'digest-unsubscribe-test');
    const deps = {
      db: database.db,
      redis,
      config,
      clock: fixedClock('2026-03-16T12:00:00Z'),
      log: silentLogger,
      enqueue: async () => 'unused',
    };
    const dashboard = createDashboardApp(deps, {
      jobs: [],
      routers: [{ path: '/unsubscribe', router: createUnsubscribeRouter(deps), auth: 'own' }],
    });
    const listening = await new Promise<Server>((resolve) => {
      const s = dashboard.app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/unsubscribe?token=${encodeURIComponent(
        unsubscribeToken(SECRET, T.a, G.g8),
      )}`;
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("form-action 'self'");
      expect(await page.text()).toContain('<form method="post"');
      // One-click from a mail provider: cross-site, no credentials.
      const click = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://mail.example.com' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(click.status).toBe(200);
      expect((await optOut(G.g8)).digest_opt_out).toBe(true);
    } finally {
      await new Promise((resolve) => listening.close(resolve));
      await dashboard.close();
      await redis.quit();
    }
  });
});
