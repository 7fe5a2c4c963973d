// Keeping an export worker's memory flat. Measured (bench/exports-rss.ts, 1,000,090 CSV rows): the
// live heap stays at about 32 MB for the whole export (forced collections every second), but the
// rows pg parses are short-lived garbage that V8 promotes and then lets the old generation grow to
// ~4x the live size before a full collection (its default heap-growing factor), so peak RSS rose
// with the row count (195 MB for 104,405 rows, 275 MB for 1,000,090) though nothing was retained.
// --optimize-for-size makes V8 collect before growing the heap, with no hard limit (a report-card
// PDF that needs more memory still gets it), and the peak no longer depends on the row count.
// The flag works best set before the process has loaded and grown its heap, so it is applied when
// this module is loaded (the worker loads every job kind at start, jobs/registry.ts), reading
// EXPORT_COMPACT_HEAP (core/config.ts) from the same environment loadConfig reads. It is off by
// default: the flag is process-wide and halves the engine's throughput of small jobs
// (npm run bench:engine: 6,000 instead of 12,000 jobs/s), so it suits workers that mostly export.
import v8 from 'node:v8';

function compactHeapWanted(env: NodeJS.ProcessEnv): boolean {
  return env.EXPORT_COMPACT_HEAP === 'true';
}

let applied = false;

/** Apply EXPORT_COMPACT_HEAP once per process; returns whether the compact heap is in effect. */
export function useCompactHeap(env: NodeJS.ProcessEnv = process.env): boolean {
  if (!applied && compactHeapWanted(env)) {
    v8.setFlagsFromString('--optimize-for-size');
    applied = true;
  }
  return applied;
}

useCompactHeap();
