// Child process of bench/exports.ts: run one export in a fresh process and print its peak RSS,
// so the 10% and the full export are measured alike (RSS never shrinks within one process).
//   node --import tsx bench/exports-rss.ts <databaseUrl> <exportDir> <tenantId> <template> <format> <filtersJson>
import { fixedClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { createDatabase } from '../core/db.js';
import { silentLogger } from '../core/logger.js';
import { requestExport } from '../jobs/exports/create.js';
import { runExport } from '../jobs/exports/run-export.js';

const [url, dir, tenantId, template, format, filters] = process.argv.slice(2) as string[];
const config = loadConfig({ DATABASE_URL: url, EXPORT_DIR: dir, SIGNING_SECRET: 'x'.repeat(32) });
const handle = createDatabase(url!, { log: silentLogger, max: 3 });
const clock = fixedClock(new Date());
const before = process.memoryUsage.rss();
let peak = before;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 10);
const started = process.hrtime.bigint();
const record = await requestExport(handle.db, {
  tenantId: tenantId!,
  request: { template, format, filters: JSON.parse(filters!) },
  config,
  now: clock.now(),
});
const result = await runExport(
  { exportId: record.id, tenantId: tenantId! },
  {
    db: handle.db,
    log: silentLogger,
    clock,
    config,
    signal: new AbortController().signal,
    jobId: 'bench-rss',
    attempt: 1,
    async progress() {},
    async enqueue() {
      return 'none';
    },
  },
);
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage.rss());
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(
  `${JSON.stringify({ rows: result.rows, ms, startRssMb: Math.round(before / 1e6), peakRssMb: Math.round(peak / 1e6) })}\n`,
);
await handle.close();
