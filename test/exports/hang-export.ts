// Child process for the crash test: runs an export and hangs at its first progress report, so the
// test can SIGKILL it mid-stream exactly like a worker dying.
//   node --import tsx test/exports/hang-export.ts <databaseUrl> <exportId> <tenantId> <exportDir>
import { createDatabase } from '../../core/db.js';
import { silentLogger } from '../../core/logger.js';
import { runExport } from '../../jobs/exports/run-export.js';
import { testJobContext } from '../helpers/context.js';
import { NOW, SECRET } from './helpers.js';

const [url, exportId, tenantId, dir] = process.argv.slice(2) as [string, string, string, string];
const handle = createDatabase(url, { log: silentLogger, max: 3 });
const ctx = testJobContext(handle.db, {
  now: NOW,
  env: { EXPORT_DIR: dir, SIGNING_SECRET: SECRET, EXPORT_FETCH_ROWS: '100' },
  async progress() {
    process.stdout.write('progress\n');
    await new Promise(() => {});
  },
});
await runExport({ exportId, tenantId }, ctx);
