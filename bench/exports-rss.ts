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
const config = loadConfig({
  DATABASE_URL: url,
  EXPORT_DIR: dir,
  SIGNING_SECRET: 'x'.repeat(32),
  EXPORT_FETCH_ROWS: process.env.EXPORT_FETCH_ROWS,
  EXPORT_COMPACT_HEAP: process.env.EXPORT_COMPACT_HEAP,
});
const handle = createDatabase(url!, { log: silentLogger, max: 3 });
const clock = fixedClock(new Date());
const before = process.memoryUsage.rss();
let peak = before;
let peakHeapTotal = 0;
let peakHeapUsed = 0;
let peakExternal = 0;
function sample(): void {
  const usage = process.memoryUsage();
  peak = Math.max(peak, usage.rss);
  peakHeapTotal = Math.max(peakHeapTotal, usage.heapTotal);
  peakHeapUsed = Math.max(peakHeapUsed, usage.heapUsed);
  peakExternal = Math.max(peakExternal, usage.external);
}
const timer = setInterval(sample, 10);

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
sample();
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(
  `${JSON.stringify({ rows: result.rows, ms, startRssMb: Math.round(before / 1e6), peakRssMb: Math.round(peak / 1e6), peakHeapTotalMb: Math.round(peakHeapTotal / 1e6), peakHeapUsedMb: Math.round(peakHeapUsed / 1e6), peakExternalMb: Math.round(peakExternal / 1e6) })}\n`,
);
await handle.close();
