// SMTP delivery: one pooled nodemailer transport per SMTP_URL per process (connections are
// reused across messages and jobs; closeDigestMailers() on shutdown), and the split between
// rejections that retrying cannot fix (5xx) and trouble that it may (4xx, connection loss).
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../../core/config.js';
import { errorMessage } from '../../core/errors.js';

const transports = new Map<string, Transporter>();

/** A new pooled transport; the caller closes it. */
export function createDigestTransport(config: Config): Transporter {
  const url = new URL(config.SMTP_URL);
  return nodemailer.createTransport({
    pool: true,
    maxConnections: config.DIGEST_SMTP_POOL_SIZE,
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 25),
    secure: url.protocol === 'smtps:',
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined,
    // A server that is down must fail the attempt quickly (it is retried), not hang a worker.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}

/** The process-wide pooled transport for SMTP_URL (workers); closeDigestMailers() on shutdown. */
export function digestMailer(config: Config): Transporter {
  const key = `${config.SMTP_URL}|${config.DIGEST_SMTP_POOL_SIZE}`;
  let transport = transports.get(key);
  if (!transport) {
    transport = createDigestTransport(config);
    transports.set(key, transport);
  }
  return transport;
}

export async function closeDigestMailers(): Promise<void> {
  for (const transport of transports.values()) transport.close();
  transports.clear();
}

export interface SmtpFailure {
  permanent: boolean;
  /** No SMTP reply at all (refused, reset, timed out): the server itself is unreachable. */
  unreachable: boolean;
  code: 'smtp-permanent' | 'smtp-temporary';
  reason: string;
}

/** 5xx replies are permanent (the address or message is refused); everything else may pass later. */
export function classifySmtpError(error: unknown): SmtpFailure {
  const responseCode = (error as { responseCode?: unknown })?.responseCode;
  const reason = errorMessage(error).slice(0, 500);
  if (typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600) {
    return { permanent: true, unreachable: false, code: 'smtp-permanent', reason };
  }
  return { permanent: false, unreachable: typeof responseCode !== 'number', code: 'smtp-temporary', reason };
}
