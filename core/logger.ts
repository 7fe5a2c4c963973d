// Structured JSON logs (pino). Every line of a job carries its job id, kind and tenant through
// child loggers. Personal data and secrets are redacted by key wherever they appear.
import { type Logger, pino } from 'pino';

export type { Logger };

const REDACTED_KEYS = [
  'email',
  'recipient',
  'password',
  'passwordHash',
  'password_hash',
  'token',
  'authorization',
  'secret',
  'first_name',
  'last_name',
  'firstName',
  'lastName',
  'phone',
];

export function createLogger(
  options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    // Logs go to stderr so CLI commands can print results (JSON) on stdout.
    options.destination ?? pino.destination(2),
  );
}

/** A logger that writes nothing, for tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
