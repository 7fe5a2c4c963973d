// Graceful stop: the CLI turns SIGTERM/SIGINT into an AbortSignal (cli/main.ts); roles wait for
// it, then stop taking jobs and give running ones SHUTDOWN_TIMEOUT_MS to finish before exiting 0.
// A second Ctrl-C falls through to Node's default and ends the process at once.
import type { Logger } from '../core/logger.js';

export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

const delay = (ms: number) =>
  new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());

/**
 * Run `close` (which waits for running jobs); when it has not finished within `timeoutMs`, call
 * `onDeadline` (abort the jobs' signals, force-close) so the process still exits. Jobs cut off
 * this way keep their Redis lock until it expires and are then recovered as stalled by another
 * worker, so nothing is lost. Resolves to whether the deadline was hit.
 */
export async function closeWithin(
  timeoutMs: number,
  close: () => Promise<void>,
  onDeadline: () => Promise<void>,
  log: Logger,
): Promise<boolean> {
  const closing = close();
  const outcome = await Promise.race([closing.then(() => 'closed' as const), delay(timeoutMs)]);
  if (outcome === 'closed') return false;
  log.warn({ timeoutMs }, 'running jobs did not finish before SHUTDOWN_TIMEOUT_MS; stopping them');
  await onDeadline();
  closing.catch(() => {});
  return true;
}
