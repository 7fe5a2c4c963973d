// Configuration comes from environment variables, validated once at start. A bad or missing
// value stops the process with one line naming the variable and what to do about it.
import { z } from 'zod';
import { ConfigError } from './errors.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/school_engine';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const url = (protocols: string[], example: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL like ${example}` },
  );

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:'], DEFAULT_DATABASE_URL).optional(),
  REDIS_URL: url(['redis:', 'rediss:'], DEFAULT_REDIS_URL).default(DEFAULT_REDIS_URL),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1-40 letters, digits, _ or -')
    .default('school'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: int(1, 65535).default(3000),
  PUBLIC_URL: url(['http:', 'https:'], 'https://reports.example.org').optional(),
  DASHBOARD_USER: z.string().min(1).optional(),
  DASHBOARD_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  // Signs download links and unsubscribe tokens. Required by the roles that issue them.
  SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters (try: openssl rand -hex 32)').optional(),
  EXPORT_DIR: z.string().min(1).default('var/exports'),
  EXPORT_TTL_HOURS: int(1, 24 * 90).default(72),
  EXPORT_MAX_RANGE_DAYS: int(1, 3660).default(366),
  SMTP_URL: url(['smtp:', 'smtps:'], 'smtp://127.0.0.1:1025').default('smtp://127.0.0.1:1025'),
  MAIL_FROM: z.string().min(3).default('School Reports <reports@localhost>'),
  SHUTDOWN_TIMEOUT_MS: int(1000, 3_600_000).default(30_000),
  SCHEDULER_GRACE_HOURS: int(0, 72).default(4),
  JOB_RUN_RETENTION_DAYS: int(1, 3650).default(90),
  EMAIL_DELIVERY_RETENTION_DAYS: int(1, 3650).default(400),
  // rollups (issue 4)
  // work_mem for the rollup transaction: the full rebuild sorts/hashes a tenant's whole year.
  ATTENDANCE_ROLLUP_WORK_MEM: z
    .string()
    .regex(/^[1-9][0-9]{0,6}(kB|MB|GB)$/, 'must be a PostgreSQL memory size like 64MB')
    .default('128MB'),
});

export type Config = z.infer<typeof schema> & {
  databaseUrl: string;
  /** True when DATABASE_URL was not set, so the embedded PostgreSQL fallback may be used. */
  databaseUrlDefaulted: boolean;
  publicUrl: string;
  /** The raw environment, for per-job overrides (JOB_<KIND>_SCHEDULE ...) read by the registry. */
  env: Readonly<Record<string, string | undefined>>;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, the way shells and compose files usually mean them.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const hint = issue.code === 'invalid_value' ? issue.message : `${issue.message}`;
    throw new ConfigError(variable, `${hint} (got ${JSON.stringify(present[variable] ?? '')})`);
  }
  const config = parsed.data;
  return {
    ...config,
    databaseUrl: config.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    databaseUrlDefaulted: config.DATABASE_URL === undefined,
    publicUrl: (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/$/, ''),
    env: { ...env },
  };
}

/** For roles that sign links: fail with a clear message instead of signing with nothing. */
export function requireSigningSecret(config: Config): string {
  if (!config.SIGNING_SECRET) {
    throw new ConfigError(
      'SIGNING_SECRET',
      'is required to sign links and unsubscribe tokens (try: openssl rand -hex 32)',
    );
  }
  return config.SIGNING_SECRET;
}
