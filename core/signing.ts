// Signed, expiring tokens for links that leave the engine (export downloads, unsubscribe links).
// A token is base64url(JSON claims) + '.' + base64url(HMAC-SHA256). Editing any claim (the
// tenant, the id, the expiry) breaks the signature; comparison is constant-time.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InputError } from './errors.js';

export interface TokenClaims {
  /** What the token is for ('download', 'unsubscribe'); a token for one purpose is useless for another. */
  purpose: string;
  /** Expiry, seconds since the epoch. Omit for tokens that never expire (unsubscribe). */
  exp?: number;
  [claim: string]: string | number | undefined;
}

function mac(secret: string, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

export function signToken(secret: string, claims: TokenClaims): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

/** The claims of a valid token for `purpose`, or an InputError saying why it is not valid. */
export function verifyToken(secret: string, token: string, purpose: string, now: Date): TokenClaims {
  const [body, signature, extra] = String(token).split('.');
  if (!body || !signature || extra !== undefined) throw new InputError('is malformed', 'token');
  const expected = mac(secret, body);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new InputError('has an invalid signature', 'token');
  }
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new InputError('is malformed', 'token');
  }
  if (claims.purpose !== purpose) throw new InputError(`is not a ${purpose} token`, 'token');
  if (claims.exp !== undefined && claims.exp * 1000 <= now.getTime())
    throw new InputError('has expired', 'token');
  return claims;
}
