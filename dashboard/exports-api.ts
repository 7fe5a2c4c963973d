// The export API, mounted by the dashboard without basic auth (it has its own tenant-admin auth):
//   createDashboardApp(deps, { routers: [{ path: '/api/exports', router: createExportsRouter(deps), auth: 'own' }] })
// Routes (relative to the mount path):
//   GET  /templates            templates, formats and filters
//   POST /                     { template, format, filters } -> 202, recorded and enqueued
//   GET  /                     this school's exports, newest first (?limit=, max 200)
//   GET  /:id                  status, progress and, once completed, a signed download link
//   POST /:id/cancel           stop a queued or running export (no file is left)
//   GET  /:id/download?token=  the file; the signed link alone is enough until it expires
// Every lookup runs under the caller's tenant (RLS), so another school's export is a 404.
import { pipeline } from 'node:stream/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db.js';
import { AppError, InputError, NotFoundError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { DirectoryStorage, type FileStorage } from '../core/storage.js';
import type { JobContext } from '../jobs/define-job.js';
import { requestExport } from '../jobs/exports/create.js';
import { downloadToken, verifyDownloadToken } from '../jobs/exports/links.js';
import {
  type ExportRecord,
  findExport,
  getExport,
  listExports,
  markCancelled,
  markExpired,
  publicView,
} from '../jobs/exports/records.js';
import { describeTemplates } from '../reports/index.js';
import { type ApiPrincipal, AuthError, authenticateAdmin } from './api-auth.js';

export interface ExportsApiDeps {
  db: Db;
  config: Config;
  clock: Clock;
  log: Logger;
  enqueue: JobContext['enqueue'];
  /** Defaults to the EXPORT_DIR directory. */
  storage?: FileStorage;
}

const CONTENT_TYPES = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pdf: 'application/pdf',
} as const;

type Handler = (req: Request, res: Response, principal: ApiPrincipal) => Promise<void>;

export function createExportsRouter(deps: ExportsApiDeps): express.Router {
  const { db, config, clock, log } = deps;
  const storage = deps.storage ?? new DirectoryStorage(config.EXPORT_DIR);
  const router = express.Router();
  router.use(express.json({ limit: '32kb' }));

  const admin =
    (handler: Handler) =>
    async (req: Request, res: Response): Promise<void> => {
      const principal = await authenticateAdmin(db, config, req.get('authorization'), clock.now());
      await handler(req, res, principal);
    };

  const isDownloadable = (record: ExportRecord, now: Date) =>
    record.status === 'completed' && record.expires_at !== null && record.expires_at > now;

  const view = (req: Request, record: ExportRecord) => {
    const now = clock.now();
    const base = `${config.publicUrl}${req.baseUrl}/${record.id}`;
    return {
      ...publicView(record),
      links: {
        self: base,
        download: isDownloadable(record, now)
          ? `${base}/download?token=${downloadToken(config, record.tenant_id, record.id, record.expires_at!)}`
          : null,
      },
    };
  };

  router.get(
    '/templates',
    admin(async (_req, res) => {
      res.json({ templates: describeTemplates() });
    }),
  );

  router.post(
    '/',
    admin(async (req, res, principal) => {
      const body = req.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new InputError('send a JSON object { template, format, filters }', 'body');
      }
      const record = await requestExport(db, {
        tenantId: principal.tenantId,
        request: { template: body.template, format: body.format, filters: body.filters },
        requestedBy: principal.userId,
        config,
        now: clock.now(),
        enqueue: deps.enqueue,
      });
      log.info(
        { exportId: record.id, tenantId: principal.tenantId, template: record.template_id },
        'export requested',
      );
      res.status(202).location(`${req.baseUrl}/${record.id}`).json(view(req, record));
    }),
  );

  router.get(
    '/',
    admin(async (req, res, principal) => {
      const raw = req.query.limit === undefined ? '50' : String(req.query.limit);
      const limit = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!(limit >= 1 && limit <= 200)) throw new InputError(`must be 1 to 200, got ${raw}`, 'limit');
      const records = await listExports(db, principal.tenantId, limit);
      res.json({ exports: records.map((record) => view(req, record)) });
    }),
  );

  router.get(
    '/:id',
    admin(async (req, res, principal) => {
      res.json(view(req, await getExport(db, principal.tenantId, String(req.params.id))));
    }),
  );

  router.post(
    '/:id/cancel',
    admin(async (req, res, principal) => {
      const id = String(req.params.id);
      const current = await getExport(db, principal.tenantId, id);
      const cancelled = await markCancelled(db, principal.tenantId, id, clock.now());
      if (!cancelled) {
        res
          .status(409)
          .json({ error: `export is ${current.status}; only queued or running exports can be cancelled` });
        return;
      }
      res.json(view(req, cancelled));
    }),
  );

  router.get('/:id/download', async (req, res) => {
    const now = clock.now();
    const id = String(req.params.id);
    let tenantId: string;
    if (typeof req.query.token === 'string') {
      const claims = (() => {
        try {
          return verifyDownloadToken(config, req.query.token as string, now);
        } catch (error) {
          if (error instanceof InputError)
            throw new AuthError(403, `the download link ${error.message.replace(/^token: /, '')}`);
          throw error;
        }
      })();
      if (claims.exportId !== id) throw new AuthError(403, 'the download link is for another export');
      tenantId = claims.tenantId;
    } else {
      tenantId = (await authenticateAdmin(db, config, req.get('authorization'), now)).tenantId;
    }
    const record = await findExport(db, tenantId, id);
    if (!record) throw new NotFoundError(`no export ${id} in this school`, 'id');
    if (record.status === 'expired') {
      res.status(410).json({ error: 'this export has expired; request it again' });
      return;
    }
    if (record.status !== 'completed' || !record.storage_key) {
      res.status(409).json({ error: `export is ${record.status}; download when it is completed` });
      return;
    }
    if (!isDownloadable(record, now) || !(await storage.exists(record.storage_key))) {
      // Past its expiry the file is removed at the first refused download; a sweep of files
      // nobody asked for again belongs to the engine's cleanup job.
      await storage.remove(record.storage_key);
      await markExpired(db, tenantId, id);
      res.status(410).json({ error: 'this export has expired; request it again' });
      return;
    }
    res.setHeader('Content-Type', CONTENT_TYPES[record.format]);
    res.setHeader('Content-Length', String(record.file_size ?? 0));
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="${record.file_name}"; filename*=UTF-8''${encodeURIComponent(record.file_name ?? 'export')}`,
    );
    if (record.checksum_sha256)
      res.setHeader('Digest', `sha-256=${Buffer.from(record.checksum_sha256, 'hex').toString('base64')}`);
    res.setHeader('Cache-Control', 'private, no-store');
    await pipeline(storage.openRead(record.storage_key), res);
  });

  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof AuthError) {
      res.status(error.status).json({ error: error.message });
    } else if (error instanceof NotFoundError) {
      res.status(404).json({ error: error.message, field: error.field });
    } else if (error instanceof InputError) {
      res.status(400).json({ error: error.message, field: error.field });
    } else if ((error as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ error: 'body: is not valid JSON', field: 'body' });
    } else if (isClientError(error)) {
      // body-parser's 413 (body over the limit) and the router's 400 (a path that is not valid
      // UTF-8) are the client's doing, not a 500 (found by test/reliability).
      res.status(error.status).json({ error: error.expose ? error.message : 'bad request' });
    } else {
      log.error({ err: error }, 'export API request failed');
      const status = error instanceof AppError ? 503 : 500;
      if (!res.headersSent)
        res.status(status).json({ error: error instanceof AppError ? error.message : 'internal error' });
    }
  });

  return router;
}

function isClientError(error: unknown): error is { status: number; expose?: boolean; message: string } {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
