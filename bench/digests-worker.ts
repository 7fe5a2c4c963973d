// One digest worker process for bench/digests.ts: a BullMQ Worker on the send queue running the
// real attendance-digest-send handler. Started (forked) twice by the benchmark.
import { type Job, Worker } from 'bullmq';
import { systemClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { createDatabase } from '../core/db.js';
import { silentLogger } from '../core/logger.js';
import { attendanceDigestSend } from '../jobs/attendance-digest-send.js';
import { parsePayload } from '../jobs/define-job.js';
import { closeDigestMailers } from '../jobs/digests/mailer.js';

const config = loadConfig();
const concurrency = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 16);
const handle = createDatabase(config.databaseUrl, { log: silentLogger, max: concurrency + 2 });
const connection = { url: config.REDIS_URL, maxRetriesPerRequest: null };
const signal = new AbortController().signal;

const worker = new Worker(
  'attendance-digest-send',
  (job: Job) =>
    attendanceDigestSend.run(parsePayload(attendanceDigestSend, job.data), {
      db: handle.db,
      log: silentLogger,
      clock: systemClock,
      config,
      signal,
      jobId: job.id!,
      attempt: job.attemptsMade + 1,
      progress: async () => {},
      enqueue: async () => {
        throw new Error('not used');
      },
    }),
  { connection, prefix: config.QUEUE_PREFIX, concurrency, autorun: false },
);

process.on('message', async (message) => {
  if (message === 'run') void worker.run();
  if (message === 'stop') {
    await worker.close();
    await closeDigestMailers();
    await handle.close();
    process.exit(0);
  }
});
process.send?.('ready');
