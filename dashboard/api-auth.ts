// Tenant-admin authentication for the export API. A bearer token is signed with SIGNING_SECRET
// (core/signing.ts, purpose 'api') and names a tenant and a user; it is minted by
// `npm run cli -- api-token` (or by the school's own system holding the secret). Every request
// re-checks the user in the database, under the tenant's RLS: the user must belong to that
// tenant, be active, not deleted, and be an admin or principal. So revoking a user's role takes
// effect at once, and a token naming another school's user is refused.
import { sql } from 'kysely';
import type { Config } from '../core/config.js';
import { requireSigningSecret } from '../core/config.js';
import type { Db } from '../core/db.js';
import { InputError } from '../core/errors.js';
import { signToken, verifyToken } from '../core/signing.js';
import { assertUuid, withTenant } from '../core/tenant-scope.js';

export const API_PURPOSE = 'api';
export const ADMIN_ROLES = ['admin', 'principal'] as const;

/** 401 (who are you?) or 403 (you may not); the message says which and why. */
export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiPrincipal {
  tenantId: string;
  userId: string;
  role: string;
}

interface UserRow {
  role: string;
  status: string;
  deleted: boolean;
}

async function findUser(db: Db, tenantId: string, userId: string): Promise<UserRow | undefined> {
  return withTenant(db, tenantId, async (trx) => {
    const { rows } = await sql<UserRow>`
      SELECT role, status, deleted_at IS NOT NULL AS deleted FROM users WHERE id = ${userId}`.execute(trx);
    return rows[0];
  });
}

function refusal(user: UserRow | undefined): string | undefined {
  if (!user) return 'the user does not belong to this school';
  if (user.deleted || user.status !== 'active')
    return `the user is not active (${user.deleted ? 'deleted' : user.status})`;
  if (!(ADMIN_ROLES as readonly string[]).includes(user.role))
    return `exports need an admin or principal; this user is a ${user.role}`;
  return undefined;
}

/** Mint a token for an admin of the tenant (checked now, and again on every request). */
export async function mintApiToken(
  db: Db,
  config: Config,
  options: { tenantId: string; userId: string; now: Date; hours?: number },
): Promise<{ token: string; expiresAt: Date }> {
  assertUuid(options.tenantId, '--tenant');
  assertUuid(options.userId, '--user');
  const reason = refusal(await findUser(db, options.tenantId, options.userId));
  if (reason) throw new InputError(reason, '--user');
  const hours = options.hours ?? config.EXPORT_API_TOKEN_TTL_HOURS;
  const expiresAt = new Date(options.now.getTime() + hours * 3_600_000);
  const token = signToken(requireSigningSecret(config), {
    purpose: API_PURPOSE,
    tenantId: options.tenantId,
    userId: options.userId,
    exp: Math.floor(expiresAt.getTime() / 1000),
  });
  return { token, expiresAt };
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

export async function authenticateAdmin(
  db: Db,
  config: Config,
  authorization: string | undefined,
  now: Date,
): Promise<ApiPrincipal> {
  const token = bearerToken(authorization);
  if (!token) throw new AuthError(401, 'send Authorization: Bearer <token> (npm run cli -- api-token)');
  let tenantId: string;
  let userId: string;
  try {
    const claims = verifyToken(requireSigningSecret(config), token, API_PURPOSE, now);
    tenantId = String(claims.tenantId);
    userId = String(claims.userId);
    assertUuid(tenantId);
    assertUuid(userId, 'userId');
  } catch (error) {
    if (error instanceof InputError)
      throw new AuthError(401, `the API token ${error.message.replace(/^token: /, '')}`);
    throw error;
  }
  const user = await findUser(db, tenantId, userId);
  const reason = refusal(user);
  if (reason) throw new AuthError(403, reason);
  return { tenantId, userId, role: user!.role };
}
