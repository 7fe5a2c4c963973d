// Benchmark: attendance digests for one school. Planning (recipients and every child's figures,
// set-based for the whole tenant), then rendering and delivery by two worker processes (BullMQ, the real send handler,
// pooled SMTP) to an SMTP sink on loopback, against a bare nodemailer loop sending pre-rendered
// messages to the same sink in the same run. Goals (issue 8): planning under 5 s for 50,000
// guardians; at least 200 emails per second end to end.
//   npm run bench:digests                        (about 2,300 guardians, planning and sending)
//   npm run bench:digests -- --full              (about 50,000 guardians)
//   npm run bench:digests -- --full --plan-only  (planning only: sending 50,000 takes long)
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { fixedClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { withTenant } from '../core/tenant-scope.js';
import { attendancePolicyFrom } from '../jobs/attendance/policy.js';
import { attendanceDigest } from '../jobs/attendance-digest.js';
import { attendanceRollup } from '../jobs/attendance-rollup.js';
import { parsePayload } from '../jobs/define-job.js';
import { childFigures, planRecipients } from '../jobs/digests/figures.js';
import { digestPeriod } from '../jobs/digests/period.js';
import { digestSettingsFrom } from '../jobs/digests/settings.js';
import { generateSchoolData } from '../seed/generate.js';
import { freshBenchDatabase, report, round, timed } from './lib.js';

const full = process.argv.includes('--full');
const planOnly = process.argv.includes('--plan-only');
const students = Number(process.env.BENCH_STUDENTS ?? (full ? 47_000 : 2_000));
const poolSize = Number(process.env.BENCH_SMTP_POOL ?? 5);
const today = '2026-03-20'; // a Friday: the digest covers Monday 16 - Sunday 22 March

// The sink counts and discards messages; parsing them would measure the sink, not us.
let received = 0;
const sink = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  closeTimeout: 200,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received++;
      callback();
    });
  },
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', () => resolve()));
const smtpUrl = `smtp://127.0.0.1:${(sink.server.address() as AddressInfo).port}`;

const database = await freshBenchDatabase('digests', 6);
const prefix = `bench-${randomUUID().slice(0, 8)}`;
const env = {
  ...process.env,
  DATABASE_URL: database.url,
  SMTP_URL: smtpUrl,
  QUEUE_PREFIX: prefix,
  SIGNING_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef',
  PUBLIC_URL: 'https://reports.example.org',
  DIGEST_SMTP_POOL_SIZE: String(poolSize),
  LOG_LEVEL: 'silent',
};
const config = loadConfig(env);
const queue = new Queue('attendance-digest-send', {
  connection: { url: config.REDIS_URL, maxRetriesPerRequest: null },
  prefix,
});

try {
  await generateSchoolData(database.db, { seed: 8, tenants: 1, students, days: 30, auditRows: 10, today });
  const { rows: tenants } = await sql<{ id: string; time_zone: string; settings: Record<string, unknown> }>`
    SELECT id, time_zone, settings FROM tenants`.execute(database.db);
  const tenant = tenants[0]!;
  const { rows: counted } = await sql<{ n: number }>`SELECT count(*) AS n FROM guardians`.execute(
    database.db,
  );
  const guardians = counted[0]!.n;
  const period = digestPeriod('weekly', new Date(`${today}T20:00:00Z`), tenant.time_zone);
  const context = {
    db: database.db,
    log: silentLogger,
    clock: fixedClock(`${today}T20:00:00Z`),
    config,
    signal: new AbortController().signal,
    jobId: 'bench-plan',
    attempt: 1,
    progress: async () => {},
    enqueue: async () => '',
  };
  // As in production, the nightly rollup has run: term-to-date rates read its monthly rows.
  await attendanceRollup.run(parsePayload(attendanceRollup, { tenantId: tenant.id }), context);

  // Planning's SQL alone: recipients (the period's attendance and the guardian links) and every
  // child's figures (period days, reasons, term-to-date rates from the rollups).
  const policy = attendancePolicyFrom(tenant.settings);
  const rules = { policy, nearThresholdPoints: digestSettingsFrom(tenant.settings).nearThresholdPoints };
  const planSql = () =>
    withTenant(database.db, tenant.id, async (trx) => {
      await childFigures(trx, tenant.id, period, rules);
      await planRecipients(trx, tenant.id);
    });
  await planSql(); // warm
  const planningSql = await timed(planSql);

  // The whole planning job (classify, record skips, fan out), collecting the send jobs.
  const jobs: { name: string; data: unknown; opts: { jobId?: string } }[] = [];
  const planned = await timed(() =>
    attendanceDigest.run(parsePayload(attendanceDigest, { tenantId: tenant.id, inline: false }), {
      ...context,
      enqueue: async (kind, data, options) => {
        jobs.push({ name: kind, data, opts: { jobId: options?.jobId } });
        return options?.jobId ?? '';
      },
    }),
  );
  if (planOnly) {
    report('digests', {
      guardians,
      planned: planned.value.planned,
      skipped: planned.value.skipped,
      planningSqlSeconds: round(planningSql.ms / 1000, 2),
      planningJobSeconds: round(planned.ms / 1000, 2),
    });
    process.exitCode = 0;
  } else {
    for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));

    // End to end: two worker processes render and send every planned digest.
    const workers = [0, 1].map(() =>
      fork(new URL('./digests-worker.ts', import.meta.url), { env, execArgv: ['--import', 'tsx'] }),
    );
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
    const sent = await timed(async () => {
      for (const w of workers) w.send('run');
      for (;;) {
        const counts = await queue.getJobCounts('completed', 'failed');
        if ((counts.completed ?? 0) + (counts.failed ?? 0) >= jobs.length) return counts;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve).send('stop'))));
    const delivered = received;
    const oursPerSecond = delivered / (sent.ms / 1000);

    // Baseline: a bare pooled nodemailer loop sending a pre-rendered message of the same size.
    const sample = await database.db
      .selectFrom('guardians')
      .select(['email'])
      .where('email', 'is not', null)
      .limit(1)
      .executeTakeFirst();
    const html = '<table><tr><td>x</td></tr></table>'.repeat(160);
    const text = 'Present: 5 | Late: 0 | Absent: 0 | Excused: 0\n'.repeat(20);
    const transport = nodemailer.createTransport({
      pool: true,
      maxConnections: poolSize * 2,
      host: '127.0.0.1',
      port: (sink.server.address() as AddressInfo).port,
    });
    const baselineCount = Math.min(delivered, 5000);
    const before = received;
    const baseline = await timed(async () => {
      let next = 0;
      const lane = async () => {
        while (next < baselineCount) {
          next++;
          await transport.sendMail({
            from: config.MAIL_FROM,
            to: sample!.email!,
            subject: 'Attendance',
            html,
            text,
          });
        }
      };
      await Promise.all(Array.from({ length: poolSize * 4 }, lane));
    });
    transport.close();
    const baselinePerSecond = (received - before) / (baseline.ms / 1000);

    report('digests', {
      guardians,
      planned: planned.value.planned,
      skipped: planned.value.skipped,
      failed: planned.value.failed,
      planningSqlSeconds: round(planningSql.ms / 1000, 2),
      planningJobSeconds: round(planned.ms / 1000, 2),
      sent: delivered,
      jobs: sent.value,
      endToEndSeconds: round(sent.ms / 1000, 1),
      emailsPerSecond: round(oursPerSecond, 1),
      bareNodemailerPerSecond: round(baselinePerSecond, 1),
      ratioToBareNodemailer: round(oursPerSecond / baselinePerSecond, 3),
      workers: 2,
      concurrencyPerWorker: Number(process.env.BENCH_WORKER_CONCURRENCY ?? 16),
      smtpPoolPerWorker: poolSize,
      loadAverage: os.loadavg()[0],
    });
  }
} finally {
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await new Promise<void>((resolve) => sink.close(() => resolve()));
  await database.close();
}
