// Unsubscribe links from digest emails. Mounted by the dashboard app at /unsubscribe with auth
// 'own': the signed token (core/signing.ts, purpose 'unsubscribe') is the authorization.
//   GET  /?token=...  a confirmation page with one button (link scanners that follow GETs must
//                     not unsubscribe anyone);
//   POST /?token=...  records the opt-out: the page's button, and RFC 8058 one-click unsubscribe
//                     (mail providers POST "List-Unsubscribe=One-Click" to the List-Unsubscribe URL).
// Recording is idempotent (the first opt-out time is kept); a bad or expired token gets a 400 page.
// Pages speak the digest's language (templates/digest/unsubscribe-page.ts).
import express, { type Request, type Response, type Router } from 'express';
import { sql } from 'kysely';
import type { Clock } from '../core/clock.js';
import { type Config, requireSigningSecret } from '../core/config.js';
import type { Db } from '../core/db.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { verifyToken } from '../core/signing.js';
import { assertUuid, type TenantTransaction, withTenant } from '../core/tenant-scope.js';
import { resolveDigestLocale } from '../templates/digest/locale.js';
import type { DigestLanguage } from '../templates/digest/messages.js';
import {
  confirmPage,
  donePage,
  errorPage,
  invalidLinkPage,
  UNSUBSCRIBE_LANGUAGES,
} from '../templates/digest/unsubscribe-page.js';

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

/** The guardian's language, else the school's, else English: the digest's own choice. */
async function recipientLanguage(trx: TenantTransaction, tenantId: string, guardianId: string) {
  const { rows } = await sql<{ school: string; tenant_locale: string; guardian_locale: string | null }>`
    SELECT t.name AS school, t.locale AS tenant_locale, g.locale AS guardian_locale
    FROM tenants t LEFT JOIN guardians g ON g.tenant_id = t.id AND g.id = ${guardianId}
    WHERE t.id = ${tenantId}`.execute(trx);
  const row = rows[0];
  return {
    school: row?.school ?? 'your school',
    language: resolveDigestLocale(row?.guardian_locale, row?.tenant_locale).language,
  };
}

/** For a link too broken to name its guardian: the browser's preferred language. */
function browserLanguage(req: Request): DigestLanguage {
  return (req.acceptsLanguages(...UNSUBSCRIBE_LANGUAGES) || 'en') as DigestLanguage;
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

  const fail = (req: Request, res: Response, error: unknown) => {
    if (error instanceof InputError) {
      res
        .status(400)
        .type('html')
        .send(invalidLinkPage(browserLanguage(req)));
      return;
    }
    deps.log.error({ err: error }, 'unsubscribe failed');
    res
      .status(500)
      .type('html')
      .send(errorPage(browserLanguage(req)));
  };

  router.get('/', async (req, res) => {
    try {
      const { token, tenantId, guardianId } = target(req);
      const { school, language } = await withTenant(deps.db, tenantId, (trx) =>
        recipientLanguage(trx, tenantId, guardianId),
      );
      res.type('html').send(confirmPage(language, school, token));
    } catch (error) {
      fail(req, res, error);
    }
  });

  router.post('/', async (req, res) => {
    try {
      const { tenantId, guardianId } = target(req);
      const { changed, language } = await withTenant(deps.db, tenantId, async (trx) => {
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
        return { changed: rows.length > 0, ...(await recipientLanguage(trx, tenantId, guardianId)) };
      });
      deps.log.info({ tenantId, guardianId, changed }, 'digest unsubscribe recorded');
      res.type('html').send(donePage(language));
    } catch (error) {
      fail(req, res, error);
    }
  });

  return router;
}
