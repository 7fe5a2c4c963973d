// Delivery guarantees against a real SMTP server: 5xx recorded and not retried, 4xx and a server
// that is down recorded and thrown for retry, a crash between claim and record resent with the
// same Message-ID, a live claim respected, and a run stopped half-way resumed without a second copy.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UnrecoverableError } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfraError } from '../../core/errors.js';
import { attendanceDigest } from '../../jobs/attendance-digest.js';
import { attendanceDigestSend } from '../../jobs/attendance-digest-send.js';
import { parsePayload } from '../../jobs/define-job.js';
import { closeDigestMailers } from '../../jobs/digests/mailer.js';
import { digestMessageId } from '../../jobs/digests/message-id.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createDigestFixture, digestEnv, EMAIL, G, T, WEEK } from './fixtures.js';
import { deadSmtpUrl, type SmtpSink, startSmtpSink } from './smtp-sink.js';

let database: TestDatabase;
let sink: SmtpSink;

const ctx = (jobId: string, smtpUrl = sink.url, signal?: AbortSignal) =>
  testJobContext(database.db, {
    env: digestEnv(smtpUrl),
    jobId,
    now: '2026-03-16T12:00:00Z',
    ...(signal ? { signal } : {}),
  });

const send = (guardianId: string, jobId: string, smtpUrl?: string) =>
  attendanceDigestSend.run(
    parsePayload(attendanceDigestSend, { tenantId: T.a, guardianId, kind: 'custom', ...WEEK }),
    ctx(jobId, smtpUrl),
  );

async function ledger(guardianId: string, from = WEEK.from) {
  const { rows } = await sql<{
    status: string;
    reason_code: string | null;
    reason: string | null;
    attempts: number;
  }>`
    SELECT status, reason_code, reason, attempts FROM email_deliveries
    WHERE tenant_id = ${T.a} AND guardian_id = ${guardianId} AND period_start = ${from}::date`.execute(
    database.db,
  );
  return rows[0];
}

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSmtpSink();
  await createDigestFixture(database.db);
});
afterAll(async () => {
  await closeDigestMailers();
  await sink.close();
  await database.drop();
});

describe('digest delivery', () => {
  it('a permanent rejection (5xx) is recorded and not retried', async () => {
    sink.refuse = (to) => (to === EMAIL.g7 ? { code: 550, message: 'mailbox unavailable' } : undefined);
    const attempt = send(G.g7, 'job-g7');
    await expect(attempt).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(attempt).rejects.toThrow(/smtp-permanent/);
    expect(await ledger(G.g7)).toMatchObject({
      status: 'failed',
      reason_code: 'smtp-permanent',
      attempts: 1,
    });
    expect((await ledger(G.g7))!.reason).toMatch(/550/);
    // A later run leaves the permanent failure alone: no new attempt, nothing sent.
    sink.refuse = null;
    expect(await send(G.g7, 'job-g7-again')).toMatchObject({ status: 'unchanged', current: 'failed' });
    expect(sink.to(EMAIL.g7)).toHaveLength(0);
    expect((await ledger(G.g7))!.attempts).toBe(1);
  });

  it('a temporary rejection (4xx) is recorded and thrown for retry, and the retry sends once', async () => {
    sink.refuse = (to) => (to === EMAIL.g9 ? { code: 451, message: 'try again later' } : undefined);
    const attempt = send(G.g9, 'job-g9');
    await expect(attempt).rejects.toBeInstanceOf(InfraError);
    await expect(attempt).rejects.not.toBeInstanceOf(UnrecoverableError);
    expect(await ledger(G.g9)).toMatchObject({ status: 'failed', reason_code: 'smtp-temporary' });
    sink.refuse = null;
    expect(await send(G.g9, 'job-g9')).toMatchObject({ status: 'sent' });
    expect(await send(G.g9, 'job-g9')).toMatchObject({ status: 'unchanged', current: 'sent' });
    expect(sink.to(EMAIL.g9)).toHaveLength(1);
    expect(await ledger(G.g9)).toMatchObject({ status: 'sent', reason_code: null, attempts: 2 });
  });

  it('an SMTP server that is down is recorded per recipient and retried, without a crash', async () => {
    const down = await deadSmtpUrl();
    await expect(send(G.g8, 'job-g8', down)).rejects.toBeInstanceOf(InfraError);
    expect(await ledger(G.g8)).toMatchObject({ status: 'failed', reason_code: 'smtp-temporary' });
    expect(sink.to(EMAIL.g8)).toHaveLength(0);
    expect(await send(G.g8, 'job-g8')).toMatchObject({ status: 'sent' });
    expect(sink.to(EMAIL.g8)).toHaveLength(1);
  });

  it('a crash between claim and record is resent by the retry with the same Message-ID', async () => {
    // What a worker killed during the SMTP conversation leaves behind.
    await sql`
      INSERT INTO email_deliveries (tenant_id, guardian_id, digest_kind, period_start, period_end, status,
                                    attempts, claimed_at, claimed_by)
      VALUES (${T.a}, ${G.g2}, 'custom', ${WEEK.from}, ${WEEK.to}, 'sending', 1, now(), 'job-g2')`.execute(
      database.db,
    );
    expect(await send(G.g2, 'job-g2')).toMatchObject({ status: 'sent' });
    const [mail] = sink.to(EMAIL.g2);
    expect(mail!.mail.messageId).toBe(
      digestMessageId(T.a, G.g2, { kind: 'custom', ...WEEK }, 'School Reports <reports@example.org>'),
    );
    expect(await ledger(G.g2)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it("another job's live claim is left alone until its lease runs out", async () => {
    await sql`
      INSERT INTO email_deliveries (tenant_id, guardian_id, digest_kind, period_start, period_end, status,
                                    attempts, claimed_at, claimed_by)
      VALUES (${T.a}, ${G.g1}, 'custom', ${WEEK.from}, ${WEEK.to}, 'sending', 1, now(), 'job-elsewhere')`.execute(
      database.db,
    );
    await expect(send(G.g1, 'job-g1')).rejects.toThrow(/being sent by another attempt/);
    expect(sink.to(EMAIL.g1)).toHaveLength(0);
    await sql`UPDATE email_deliveries SET claimed_at = now() - interval '1 hour'
              WHERE guardian_id = ${G.g1}`.execute(database.db);
    expect(await send(G.g1, 'job-g1')).toMatchObject({ status: 'sent' });
    expect(sink.to(EMAIL.g1)).toHaveLength(1);
  });

  it('a run stopped half-way and restarted sends no second copy to anyone', async () => {
    const before = sink.messages.length;
    const week = { from: '2026-03-09', to: '2026-03-13' };
    const payload = parsePayload(attendanceDigest, { tenantId: T.a, ...week });
    const stop = new AbortController();
    sink.onMessage = () => stop.abort();
    await expect(attendanceDigest.run(payload, ctx('plan-1', sink.url, stop.signal))).rejects.toThrow(
      /stopped/,
    );
    sink.onMessage = null;
    expect(sink.messages.length - before).toBe(1);
    const resumed = await attendanceDigest.run(payload, ctx('plan-1'));
    expect(resumed).toMatchObject({ planned: 5, sent: 4, alreadySent: 1 });
    const received = sink.messages.slice(before).flatMap((m) => m.to);
    expect(received.sort()).toEqual([EMAIL.g1, EMAIL.g2, EMAIL.g7, EMAIL.g8, EMAIL.g9].sort());
  });
});

describe('a worker process killed mid-run', () => {
  it('restarted, sends no second copy to anyone already sent; the crash window resends the same Message-ID', async () => {
    const period = { from: '2026-03-09', to: '2026-03-14' };
    const before = sink.messages.length;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./kill-child.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          ...digestEnv(sink.url),
          DATABASE_URL: database.url,
          LOG_LEVEL: 'silent',
          DIGEST_PAYLOAD: JSON.stringify({ tenantId: T.a, ...period }),
          DIGEST_JOB_ID: 'plan-killed',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    sink.onMessage = () => child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    sink.onMessage = null;
    const sentBeforeKill = sink.messages.length - before;
    expect(sentBeforeKill).toBeGreaterThanOrEqual(1);
    expect(sentBeforeKill).toBeLessThan(5);

    // The retry of the same job (BullMQ keeps the job id) finishes the run.
    const resumed = await attendanceDigest.run(
      parsePayload(attendanceDigest, { tenantId: T.a, ...period }),
      ctx('plan-killed'),
    );
    expect(resumed.sent + resumed.alreadySent).toBe(5);
    const received = sink.messages.slice(before);
    const byAddress = new Map<string, Set<string>>();
    for (const m of received) {
      for (const to of m.to) byAddress.set(to, (byAddress.get(to) ?? new Set()).add(m.mail.messageId!));
    }
    expect([...byAddress.keys()].sort()).toEqual([EMAIL.g1, EMAIL.g2, EMAIL.g7, EMAIL.g8, EMAIL.g9].sort());
    // One Message-ID per guardian, and at most the one message in flight at the kill sent twice.
    for (const ids of byAddress.values()) expect(ids.size).toBe(1);
    expect(received.length).toBeLessThanOrEqual(6);
    const { rows } = await sql<{ status: string; n: number }>`
      SELECT status, count(*) AS n FROM email_deliveries WHERE period_end = '2026-03-14' GROUP BY status`.execute(
      database.db,
    );
    expect(rows.find((r) => r.status === 'sent')?.n).toBe(5);
    expect(rows.some((r) => r.status === 'sending')).toBe(false);
  });
});

describe('a school suspended after planning', () => {
  it('gets no more digests sent', async () => {
    await sql`UPDATE tenants SET status = 'suspended' WHERE id = ${T.a}`.execute(database.db);
    try {
      const before = sink.messages.length;
      const outcome = await attendanceDigestSend.run(
        parsePayload(attendanceDigestSend, {
          tenantId: T.a,
          guardianId: G.g1,
          kind: 'weekly',
          from: '2026-03-09',
          to: '2026-03-15',
        }),
        ctx('job-suspended'),
      );
      expect(outcome).toEqual({ status: 'skipped', code: 'tenant-not-active' });
      expect(sink.messages.length).toBe(before);
    } finally {
      await sql`UPDATE tenants SET status = 'active' WHERE id = ${T.a}`.execute(database.db);
    }
  });
});

describe('an inline run while the SMTP server is down', () => {
  it('records every recipient with a reason, stops trying after three, and a later run sends each once', async () => {
    const down = await deadSmtpUrl();
    const payload = parsePayload(attendanceDigest, { tenantId: T.a, from: '2026-03-09', to: '2026-03-12' });
    const failed = await attendanceDigest.run(payload, ctx('plan-down', down));
    expect(failed).toMatchObject({ planned: 5, sent: 0, failed: { 'smtp-temporary': 5 } });
    const { rows } = await sql<{ status: string; reason_code: string; reason: string }>`
      SELECT status, reason_code, reason FROM email_deliveries
      WHERE period_end = '2026-03-12' AND reason_code NOT IN ('opted-out', 'no-email', 'invalid-address')`.execute(
      database.db,
    );
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.status === 'failed' && r.reason_code === 'smtp-temporary')).toBe(true);
    expect(rows.filter((r) => r.reason.startsWith('not attempted'))).toHaveLength(2);

    const before = sink.messages.length;
    expect(await attendanceDigest.run(payload, ctx('plan-up'))).toMatchObject({ sent: 5 });
    expect(await attendanceDigest.run(payload, ctx('plan-up-again'))).toMatchObject({
      sent: 0,
      alreadySent: 5,
    });
    expect(sink.messages.length - before).toBe(5);
  });
});
