// Operator authentication for the dashboard: HTTP Basic against DASHBOARD_USER/DASHBOARD_PASSWORD,
// a per-client-IP lockout after repeated wrong passwords, and a same-origin check on state-changing
// requests (Basic credentials are replayed by the browser automatically, so a hostile page could
// otherwise make an operator's browser retry or clean jobs).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export interface DashboardCredentials {
  user: string;
  password: string;
}

/** The dashboard never runs open: without both settings it refuses to start. */
export function requireDashboardCredentials(config: Config): DashboardCredentials {
  if (!config.DASHBOARD_USER || !config.DASHBOARD_PASSWORD) {
    const missing = !config.DASHBOARD_USER ? 'DASHBOARD_USER' : 'DASHBOARD_PASSWORD';
    throw new ConfigError(
      missing,
      'the dashboard requires DASHBOARD_USER and DASHBOARD_PASSWORD (at least 8 characters) and will not ' +
        'start without them; set both, e.g. DASHBOARD_USER=admin DASHBOARD_PASSWORD=$(openssl rand -base64 18)',
    );
  }
  return { user: config.DASHBOARD_USER, password: config.DASHBOARD_PASSWORD };
}

/** A random password for the demo, printed once: 24 URL-safe characters (144 bits). */
export function generateDashboardPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Compares through fixed-length digests so neither content nor length leaks through timing. */
export function constantTimeEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Parses "Authorization: Basic base64(user:password)"; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): DashboardCredentials | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export interface LockoutPolicy {
  /** Wrong passwords from one client before it is locked out. */
  maxFailures: number;
  /** How long the lockout lasts; failures older than this are forgotten. */
  lockMs: number;
}

interface ClientRecord {
  failures: number;
  firstFailureAt: number;
  lockedUntil: number;
}

/**
 * Counts wrong passwords per client and locks a client out after `maxFailures` within `lockMs`.
 * Bounded: at most `maxClients` records, oldest dropped first, so a flood of source addresses
 * cannot grow memory without end.
 */
export class LoginLockout {
  readonly #clients = new Map<string, ClientRecord>();
  constructor(
    readonly policy: LockoutPolicy,
    private readonly clock: Clock,
    private readonly maxClients = 10_000,
  ) {}

  /** Milliseconds until the client may try again, or 0 when it is not locked out. */
  retryAfterMs(client: string): number {
    const record = this.#clients.get(client);
    if (!record) return 0;
    const now = this.clock.now().getTime();
    if (record.lockedUntil > now) return record.lockedUntil - now;
    if (record.lockedUntil > 0 || now - record.firstFailureAt > this.policy.lockMs)
      this.#clients.delete(client);
    return 0;
  }

  /** Records a wrong password; returns the lockout in ms when this failure triggered one. */
  recordFailure(client: string): number {
    const now = this.clock.now().getTime();
    let record = this.#clients.get(client);
    if (!record || now - record.firstFailureAt > this.policy.lockMs) {
      record = { failures: 0, firstFailureAt: now, lockedUntil: 0 };
    }
    record.failures += 1;
    if (record.failures >= this.policy.maxFailures) record.lockedUntil = now + this.policy.lockMs;
    this.#clients.delete(client); // re-insert so Map order stays oldest-first
    this.#clients.set(client, record);
    while (this.#clients.size > this.maxClients) {
      this.#clients.delete(this.#clients.keys().next().value!);
    }
    return record.lockedUntil > 0 ? this.policy.lockMs : 0;
  }

  recordSuccess(client: string): void {
    this.#clients.delete(client);
  }
}

function clientKey(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

function tooManyAttempts(res: Response, retryAfterMs: number): void {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  res
    .status(429)
    .set('Retry-After', String(seconds))
    .json({ error: `too many failed logins from this address; try again in ${seconds} s` });
}

/** Basic auth for the operator area. Requests without credentials get the challenge, not a strike. */
export function basicAuth(options: {
  credentials: DashboardCredentials;
  lockout: LoginLockout;
  log: Logger;
  realm?: string;
}): RequestHandler {
  const { credentials, lockout, log } = options;
  const challenge = `Basic realm="${options.realm ?? 'School jobs dashboard'}", charset="UTF-8"`;
  return (req: Request, res: Response, next: NextFunction) => {
    const client = clientKey(req);
    const lockedMs = lockout.retryAfterMs(client);
    if (lockedMs > 0) return tooManyAttempts(res, lockedMs);
    const given = parseBasicAuth(req.headers.authorization);
    if (!given) {
      res.status(401).set('WWW-Authenticate', challenge).json({ error: 'authentication required' });
      return;
    }
    // Both compared every time (no short-circuit) so a right user name is not revealed by timing.
    const userOk = constantTimeEqual(given.user, credentials.user);
    const passwordOk = constantTimeEqual(given.password, credentials.password);
    if (userOk && passwordOk) {
      lockout.recordSuccess(client);
      next();
      return;
    }
    const lockMs = lockout.recordFailure(client);
    if (lockMs > 0) {
      log.warn(
        { client, lockSeconds: Math.ceil(lockMs / 1000) },
        'dashboard login locked out after failures',
      );
      return tooManyAttempts(res, lockMs);
    }
    res.status(401).set('WWW-Authenticate', challenge).json({ error: 'wrong user name or password' });
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function hostOf(value: string | undefined): string | undefined {
  if (!value || value === 'null') return undefined;
  try {
    return new URL(value).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * CSRF guard for state-changing requests: the Origin (or, failing that, the Referer) must name this
 * server, as seen in the Host header or in PUBLIC_URL (behind a reverse proxy). Browsers send Origin
 * on every cross-site and same-site POST/PUT/PATCH/DELETE, so a request with neither is refused too:
 * scripts calling the API must send an Origin header.
 */
export function requireSameOrigin(options: { publicUrl?: string } = {}): RequestHandler {
  const publicHost = hostOf(options.publicUrl);
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const origin = hostOf(req.headers.origin) ?? hostOf(req.headers.referer);
    const host = req.headers.host?.toLowerCase();
    if (origin && (origin === host || origin === publicHost)) return next();
    res.status(403).json({
      error: origin
        ? `cross-origin ${req.method} refused: origin ${origin} is not this dashboard`
        : `${req.method} refused: send an Origin header naming this dashboard (CSRF protection)`,
    });
  };
}
