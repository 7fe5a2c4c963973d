// A worker process's own /metrics, for Prometheus to scrape each worker: the dashboard's /metrics
// holds only the run counts of the process serving it, so with separate `worker` processes their
// counts and durations would otherwise be invisible. Bound to loopback unless told otherwise and
// unauthenticated, as Prometheus exporters are: it holds job kinds, counts and timings, never
// payloads or personal data.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export async function serveWorkerMetrics(
  registry: Registry,
  options: { port: number; host: string; log: Logger },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    registry.metrics().then(
      (text) =>
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }).end(text),
      (error) => {
        options.log.warn({ err: { message: errorMessage(error) } }, 'could not collect worker metrics');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('could not collect metrics\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`WORKER_METRICS_PORT ${options.port} on ${options.host}: ${error.message}`)),
    );
    server.listen(options.port, options.host, resolve);
  });
  options.log.info({ url: `http://${options.host}:${options.port}/metrics` }, 'worker metrics served');
  return server;
}
