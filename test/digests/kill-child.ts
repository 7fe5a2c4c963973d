// Runs one inline attendance-digest in its own process, so a test can SIGKILL it mid-run.
// Environment: DATABASE_URL, SMTP_URL, SIGNING_SECRET, ... and DIGEST_PAYLOAD (JSON), DIGEST_JOB_ID.
import { systemClock } from '../../core/clock.js';
import { loadConfig } from '../../core/config.js';
import { createDatabase } from '../../core/db.js';
import { silentLogger } from '../../core/logger.js';
import { attendanceDigest } from '../../jobs/attendance-digest.js';
import { parsePayload } from '../../jobs/define-job.js';

const config = loadConfig();
const handle = createDatabase(config.databaseUrl, { log: silentLogger, max: 2 });
const result = await attendanceDigest.run(
  parsePayload(attendanceDigest, JSON.parse(process.env.DIGEST_PAYLOAD ?? '{}')),
  {
    db: handle.db,
    log: silentLogger,
    clock: systemClock,
    config,
    signal: new AbortController().signal,
    jobId: process.env.DIGEST_JOB_ID ?? 'kill-child',
    attempt: 1,
    progress: async () => {},
    enqueue: async () => {
      throw new Error('inline run does not enqueue');
    },
  },
);
process.stdout.write(`${JSON.stringify(result)}\n`);
await handle.close();
