// Keeping an export worker's memory flat. Measured (bench/exports-rss.ts, 1,000,090 CSV rows): the
// live heap stays at about 32 MB for the whole export, but the rows pg parses are short-lived
// garbage that V8 promotes and then lets the old generation grow up to ~4x the live size before
// a full collection (its default heap-growing factor), so peak RSS rose with the row count (195 MB
// for 104,405 rows, 275 MB for 1,000,090) although nothing was retained. --optimize-for-size makes
// V8 collect before growing the heap (no hard limit: a report-card PDF that needs more still gets
// it); the peak then no longer depends on the row count. V8 reads the flag at each collection, so
// setting it at run time, when the process runs its first export, is enough.
import v8 from 'node:v8';
import type { Config } from '../../core/config.js';

let applied = false;

/** Apply EXPORT_COMPACT_HEAP once per process; returns whether the compact heap is in effect. */
export function useCompactHeap(config: Pick<Config, 'EXPORT_COMPACT_HEAP'>): boolean {
  if (config.EXPORT_COMPACT_HEAP !== 'true') return applied;
  if (!applied) v8.setFlagsFromString('--optimize-for-size');
  applied = true;
  return true;
}
