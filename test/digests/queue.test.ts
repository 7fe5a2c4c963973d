// The fan-out over real BullMQ queues (Redis, a random prefix): one send job per guardian with a
// deterministic id, a 5xx failing once without retries, a 4xx retried with backoff until it is
// delivered, and a second plan of the same period adding no job and sending nothing.
import { randomUUID } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attendanceDigest } from '../../jobs/attendance-digest.js';
import { attendanceDigestSend } from '../../jobs/attendance-digest-send.js';
import { parsePayload } from '../../jobs/define-job.js';
import { closeDigestMailers } from '../../jobs/digests/mailer.js';
import { digestSendJobId } from '../../jobs/digests/message-id.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createDigestFixture, digestEnv, EMAIL, G, T, WEEK } from './fixtures.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
const prefix = `test-${randomUUID()}`;
const period = { kind: 'custom' as const, ...WEEK };

let database: TestDatabase;
let sink: SmtpSink;
let queue: Queue;
let worker: Worker;
let refusedOnce = false;

function planContext() {
  const context = testJobContext(database.db, { env: digestEnv(sink.url) });
  context.enqueue = async (kind, payload, options) => {
    const job = await queue.add(kind, payload, {
      jobId: options?.jobId,
      delay: options?.delayMs,
      attempts: 3,
      backoff: { type: 'exponential', delay: 50 },
    });
    return job.id!;
  };
  return context;
}

async function settled(total: number): Promise<void> {
  const done = async () => {
    const counts = await queue.getJobCounts('completed', 'failed');
    return (counts.completed ?? 0) + (counts.failed ?? 0) >= total;
  };
  if (await done()) return;
  await new Promise<void>((resolve, reject) => {
    const check = () =>
      done().then((finished) => {
        if (!finished) return;
        worker.off('completed', check);
        worker.off('failed', check);
        resolve();
      }, reject);
    worker.on('completed', check);
    worker.on('failed', check);
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSmtpSink();
  await createDigestFixture(database.db);
  sink.refuse = (to) => {
    if (to === EMAIL.g7) return { code: 550, message: 'no such mailbox' };
    if (to === EMAIL.g9 && !refusedOnce) {
      refusedOnce = true;
      return { code: 451, message: 'greylisted, try again' };
    }
    return undefined;
  };
  queue = new Queue('attendance-digest-send', { connection, prefix });
  worker = new Worker(
    'attendance-digest-send',
    (job: Job) =>
      attendanceDigestSend.run(
        parsePayload(attendanceDigestSend, job.data),
        testJobContext(database.db, {
          env: digestEnv(sink.url),
          jobId: job.id!,
          attempt: job.attemptsMade + 1,
        }),
      ),
    { connection, prefix, concurrency: 3 },
  );
});
afterAll(async () => {
  await worker?.close();
  await queue?.obliterate({ force: true });
  await queue?.close();
  await closeDigestMailers();
  await sink.close();
  await database.drop();
});

describe('digest fan-out over BullMQ', () => {
  it('sends one email per guardian; 5xx fails without retry, 4xx is retried until delivered', async () => {
    const payload = parsePayload(attendanceDigest, { tenantId: T.a, ...WEEK, inline: false });
    expect(await attendanceDigest.run(payload, planContext())).toMatchObject({ planned: 5, enqueued: 5 });
    await settled(5);

    const permanent = (await queue.getJob(digestSendJobId(T.a, G.g7, period)))!;
    expect(await permanent.getState()).toBe('failed');
    expect(permanent.attemptsMade).toBe(1);
    expect(permanent.failedReason).toMatch(/smtp-permanent/);

    const temporary = (await queue.getJob(digestSendJobId(T.a, G.g9, period)))!;
    expect(await temporary.getState()).toBe('completed');
    expect(temporary.attemptsMade).toBe(2);

    for (const address of [EMAIL.g1, EMAIL.g2, EMAIL.g8, EMAIL.g9])
      expect(sink.to(address), address).toHaveLength(1);
    expect(sink.to(EMAIL.g7)).toHaveLength(0);
  });

  it('planning the same period again adds no job and sends nothing', async () => {
    const before = { messages: sink.messages.length, jobs: await queue.getJobCounts('completed', 'failed') };
    const payload = parsePayload(attendanceDigest, { tenantId: T.a, ...WEEK, inline: false });
    await attendanceDigest.run(payload, planContext());
    expect(await queue.getJobCounts('completed', 'failed', 'waiting', 'delayed', 'active')).toEqual({
      ...before.jobs,
      waiting: 0,
      delayed: 0,
      active: 0,
    });
    expect(sink.messages.length).toBe(before.messages);
  });
});
