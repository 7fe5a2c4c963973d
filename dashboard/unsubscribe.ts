// Unsubscribe links from digest emails. Mounted by the dashboard app at /unsubscribe with auth
// 'own': the signed token (core/signing.ts, purpose 'unsubscribe') is the authorization.
//   GET  /?token=...  a confirmation page with one button (link scanners that follow GETs must
//                     not unsubscribe anyone);
//   POST /?token=...  records the opt-out: the page's button, and RFC 8058 one-click unsubscribe
//                     (mail providers POST "List-Unsubscribe=One-Click" to the List-Unsubscribe URL).
// Recording is idempotent (the first opt-out time is kept); a bad or expired token gets a 400 page.
import express, { type Request, type Response, type Router } from 'express';
import { sql } from 'kysely';
import type { Clock } from '../core/clock.js';
import { type Config, requireSigningSecret } from '../core/config.js';
import type { Db } from '../core/db.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { verifyToken } from '../core/signing.js';
import { assertUuid, withTenant } from '../core/tenant-scope.js';
import { escapeHtml as e } from '../templates/digest/escape.js';

export interface UnsubscribeDeps {
  db: Db;
  config: Config;
  clock: Clock;
  log: Logger;
}

interface Target {
  token: string;
  tenantId: string;
  guardianId: string;
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${e(title)}</title></head><body style="font-family:Arial,Helvetica,sans-serif;max-width:560px;margin:40px auto;padding:0 16px;color:#333;">
<h1 style="font-size:22px;">${e(title)}</h1>${body}</body></html>`;
}

function tokenFrom(req: Request): string {
  const fromQuery = typeof req.query.token === 'string' ? req.query.token : undefined;
  const body = req.body as Record<string, unknown> | undefined;
  const fromBody = typeof body?.token === 'string' ? body.token : undefined;
  return fromQuery ?? fromBody ?? '';
}

export function createUnsubscribeRouter(deps: UnsubscribeDeps): Router {
  const secret = requireSigningSecret(deps.config);
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '4kb' }));
  router.use((_req, res, next) => {
    // The token is in the URL: keep it out of caches and Referer headers.
    res.set('Cache-Control', 'no-store');
    res.set('Referrer-Policy', 'no-referrer');
    next();
  });

  const target = (req: Request): Target => {
    const token = tokenFrom(req);
    if (!token) throw new InputError('is missing', 'token');
    const claims = verifyToken(secret, token, 'unsubscribe', deps.clock.now());
    const tenantId = String(claims.tenant ?? '');
    const guardianId = String(claims.guardian ?? '');
    assertUuid(tenantId, 'token');
    assertUuid(guardianId, 'token');
    return { token, tenantId, guardianId };
  };

  const fail = (res: Response, error: unknown) => {
    if (error instanceof InputError) {
      res
        .status(400)
        .type('html')
        .send(
          page(
            'This unsubscribe link is not valid',
            '<p>The link may be incomplete or out of date. Copy the whole link from the latest email, or ask the school to stop the attendance emails.</p>',
          ),
        );
      return;
    }
    deps.log.error({ err: error }, 'unsubscribe failed');
    res.status(500).type('html').send(page('Something went wrong', '<p>Please try again later.</p>'));
  };

  router.get('/', async (req, res) => {
    try {
      const { token, tenantId } = target(req);
      const school = await withTenant(deps.db, tenantId, async (trx) => {
        const { rows } = await sql<{ name: string }>`SELECT name FROM tenants WHERE id = ${tenantId}`.execute(
          trx,
        );
        return rows[0]?.name ?? 'your school';
      });
      const action = `?token=${encodeURIComponent(token)}`;
      res.type('html').send(
        page(
          'Stop attendance emails?',
          `<p>You will no longer receive attendance summaries from ${e(school)}.</p>
<form method="post" action="${e(action)}"><input type="hidden" name="token" value="${e(token)}">
<button type="submit" style="padding:10px 18px;font-size:16px;">Unsubscribe</button></form>`,
        ),
      );
    } catch (error) {
      fail(res, error);
    }
  });

  router.post('/', async (req, res) => {
    try {
      const { tenantId, guardianId } = target(req);
      const changed = await withTenant(deps.db, tenantId, async (trx) => {
        const { rows } = await sql<{ id: string }>`
          UPDATE guardians SET digest_opt_out = true, digest_opted_out_at = now()
          WHERE tenant_id = ${tenantId} AND id = ${guardianId} AND NOT digest_opt_out
          RETURNING id`.execute(trx);
        if (rows[0]) {
          await sql`
            INSERT INTO audit_logs (tenant_id, actor, action, resource_type, resource_id, new_values, reason)
            VALUES (${tenantId}, 'user', 'guardian.digest_opt_out', 'guardian', ${guardianId},
                    '{"digest_opt_out": true}'::jsonb, 'unsubscribe link')`.execute(trx);
        }
        return rows.length > 0;
      });
      deps.log.info({ tenantId, guardianId, changed }, 'digest unsubscribe recorded');
      res
        .type('html')
        .send(page('You are unsubscribed', '<p>You will not receive attendance summaries any more.</p>'));
    } catch (error) {
      fail(res, error);
    }
  });

  return router;
}
