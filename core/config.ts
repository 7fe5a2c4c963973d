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
  // dashboard (issue 3)
  /** Wrong dashboard passwords from one client address before it is locked out. */
  DASHBOARD_LOCKOUT_ATTEMPTS: int(1, 1000).default(10),
  /** How long a locked-out client waits; failures older than this are forgotten. */
  DASHBOARD_LOCKOUT_SECONDS: int(1, 86_400).default(900),
  /**
   * Express "trust proxy" for the dashboard behind a reverse proxy (a hop count like 1, or addresses
   * like loopback,10.0.0.0/8), so the lockout counts real client addresses instead of the proxy's.
   */
  DASHBOARD_TRUST_PROXY: z.string().min(1).optional(),
  // job engine (issue 3). Per-kind overrides JOB_<KIND>_CONCURRENCY/_ATTEMPTS/_BACKOFF_MS/_SCHEDULE
  // are read from `env` by workers/job-settings.ts, since the kinds are only known to the registry.
  WORKER_CONCURRENCY: int(1, 1000).default(5),
  JOB_ATTEMPTS: int(1, 100).default(3),
  JOB_BACKOFF_MS: int(0, 86_400_000).default(10_000),
  QUEUE_KEEP_COMPLETED: int(0, 1_000_000).default(1000),
  QUEUE_KEEP_COMPLETED_HOURS: int(1, 24 * 90).default(48),
  QUEUE_KEEP_FAILED: int(0, 1_000_000).default(5000),
  QUEUE_KEEP_FAILED_DAYS: int(1, 365).default(14),
  WORKER_LOCK_DURATION_MS: int(500, 3_600_000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: int(500, 3_600_000).default(30_000),
  RUN_HISTORY_FLUSH_MS: int(10, 60_000).default(200),
  RUN_HISTORY_BATCH: int(1, 10_000).default(2000),
  /** Unset: the worker serves no metrics of its own (the dashboard's /metrics has queue depths). */
  WORKER_METRICS_PORT: int(1, 65535).optional(),
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // exports (issue 7)
  /** A PDF is for reading: past this many rows the export fails and asks for CSV or XLSX. */
  EXPORT_PDF_MAX_ROWS: int(1, 1_000_000).default(20_000),
  /** Rows fetched per cursor round trip while streaming an export. */
  EXPORT_FETCH_ROWS: int(100, 100_000).default(5_000),
  /** Lifetime of a tenant-admin API token minted by `npm run cli -- api-token`. */
  EXPORT_API_TOKEN_TTL_HOURS: int(1, 24 * 366).default(24 * 30),
  /**
   * 'true': a process that loads the export job (every worker) switches V8 to --optimize-for-size,
   * so garbage is collected before the heap grows: flat RSS whatever the row count, no hard cap.
   * Read from the environment when jobs/exports/heap.ts loads; 'false' keeps V8's defaults. Off by
   * default: the flag is process-wide and halves the throughput of small jobs.
   */
  EXPORT_COMPACT_HEAP: z.enum(['true', 'false']).default('false'),
  // digests (issue 8)
  /** Global send rate: at most DIGEST_RATE_MAX emails per DIGEST_RATE_WINDOW_MS (BullMQ limiter). */
  DIGEST_RATE_MAX: int(1, 100_000).default(50),
  DIGEST_RATE_WINDOW_MS: int(100, 3_600_000).default(1000),
  /** Per-tenant send rate per DIGEST_RATE_WINDOW_MS, applied by spacing the fan-out; 0 = no per-tenant cap. */
  DIGEST_TENANT_RATE_MAX: int(0, 100_000).default(0),
  /** Pooled SMTP connections per worker process. */
  DIGEST_SMTP_POOL_SIZE: int(1, 50).default(5),
  /** A 'sending' claim older than this is taken to belong to a dead worker and may be retried. */
  DIGEST_CLAIM_LEASE_SECONDS: int(10, 86_400).default(600),
  // invoices (issue 6)
  // How many problems and item mismatches a reconciliation result lists (counts stay complete).
  INVOICE_RECONCILIATION_MAX_LISTED: int(0, 100_000).default(200),
  // An all-tenant run reconciles this many schools per transaction (one scan serves them all).
  INVOICE_RECONCILIATION_TENANTS_PER_TRANSACTION: int(1, 10_000).default(50),
  // partitions and audit retention (issue 5)
  PARTITION_PREMAKE_MONTHS: int(1, 24).default(3),
  PARTITION_LOCK_TIMEOUT_MS: int(10, 60_000).default(50),
  PARTITION_LOCK_ATTEMPTS: int(1, 20).default(5),
  PARTITION_RETRY_BACKOFF_MS: int(10, 600_000).default(500),
  PARTITION_RETRY_DELAY_MINUTES: int(1, 1440).default(30),
  PARTITION_MOVE_BATCH_SIZE: int(100, 1_000_000).default(10_000),
  PARTITION_ARCHIVE: z.enum(['none', 'csv-gzip']).default('none'),
  PARTITION_ARCHIVE_DIR: z.string().min(1).optional(),
  ATTENDANCE_RETENTION_MONTHS: int(12, 1200).optional(),
  // At least a month: less would drop the current month's partition under the school's feet.
  AUDIT_RETENTION_DAYS: int(31, 36_500).default(730),
  AUDIT_RETENTION_MAX_DAYS: int(31, 36_500).default(3650),
  AUDIT_DELETE_BATCH_SIZE: int(100, 100_000).default(5000),
  AUDIT_EXACT_DROP_COUNTS: z.enum(['true', 'false']).default('true'),
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
  if (config.AUDIT_RETENTION_DAYS > config.AUDIT_RETENTION_MAX_DAYS) {
    throw new ConfigError(
      'AUDIT_RETENTION_DAYS',
      `must not exceed AUDIT_RETENTION_MAX_DAYS (${config.AUDIT_RETENTION_MAX_DAYS}), got ${config.AUDIT_RETENTION_DAYS}`,
    );
  }
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
