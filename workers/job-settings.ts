// Effective settings per job kind: the definition's defaults, overridden by the environment
// (JOB_<KIND>_CONCURRENCY, _ATTEMPTS, _BACKOFF_MS, _SCHEDULE). Resolved once at start so a bad
// override stops the role with the variable's name instead of failing at 02:00.
import { CronExpressionParser } from 'cron-parser';
import type { Config } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import type { JobDefinition, JobSchedule } from '../jobs/define-job.js';

export interface ResolvedSchedule extends Omit<JobSchedule, 'timeZone'> {
  timeZone: string;
  /** Where the cron came from, for messages: the definition or the variable that overrode it. */
  source: string;
}

export interface JobSettings {
  kind: string;
  concurrency: number;
  attempts: number;
  backoffMs: number;
  limiter?: { max: number; duration: number };
  schedule?: ResolvedSchedule;
}

/** JOB_<KIND>_<SETTING>: the kind upper-cased with dashes as underscores. */
export function envKey(kind: string, setting: string): string {
  return `JOB_${kind.toUpperCase().replace(/-/g, '_')}_${setting}`;
}

function intOverride(config: Config, variable: string, fallback: number, min: number, max: number): number {
  const raw = config.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(
      variable,
      `must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

/** Throws ConfigError naming `variable` when the five-field cron or the time zone is not valid. */
export function assertCron(cron: string, timeZone: string, variable: string): void {
  if (cron.trim().split(/\s+/).length !== 5) {
    throw new ConfigError(
      variable,
      `must be a five-field cron expression like "30 2 * * *" (minute hour day month weekday), or "off" (got ${JSON.stringify(cron)})`,
    );
  }
  try {
    CronExpressionParser.parse(cron, { tz: timeZone, currentDate: new Date(0) }).next();
  } catch (error) {
    throw new ConfigError(
      variable,
      `is not a valid cron expression: ${(error as Error).message} (got ${JSON.stringify(cron)})`,
    );
  }
}

export function resolveJobSettings(job: JobDefinition, config: Config): JobSettings {
  const queue = typeof job.queue === 'function' ? job.queue(config) : job.queue;
  const settings: JobSettings = {
    kind: job.name,
    concurrency: intOverride(
      config,
      envKey(job.name, 'CONCURRENCY'),
      queue?.concurrency ?? config.WORKER_CONCURRENCY,
      1,
      1000,
    ),
    attempts: intOverride(
      config,
      envKey(job.name, 'ATTEMPTS'),
      queue?.attempts ?? config.JOB_ATTEMPTS,
      1,
      100,
    ),
    backoffMs: intOverride(
      config,
      envKey(job.name, 'BACKOFF_MS'),
      queue?.backoffMs ?? config.JOB_BACKOFF_MS,
      0,
      86_400_000,
    ),
  };
  if (queue?.limiter) {
    settings.limiter = { max: queue.limiter.max, duration: queue.limiter.durationMs };
  }
  const variable = envKey(job.name, 'SCHEDULE');
  const override = config.env[variable]?.trim();
  if (override === 'off') return settings;
  if (override) {
    // A kind without a default schedule can be given one from config (global, UTC).
    const timeZone = job.schedule?.timeZone ?? 'UTC';
    assertCron(override, timeZone, variable);
    settings.schedule = { ...job.schedule, cron: override, timeZone, source: variable };
  } else if (job.schedule) {
    const timeZone = job.schedule.timeZone ?? 'UTC';
    assertCron(job.schedule.cron, timeZone, `schedule of job ${job.name}`);
    settings.schedule = { ...job.schedule, timeZone, source: `jobs/${job.name}.ts` };
  }
  return settings;
}

export function resolveAllJobSettings(
  jobs: readonly JobDefinition[],
  config: Config,
): Map<string, JobSettings> {
  return new Map(jobs.map((job) => [job.name, resolveJobSettings(job, config)]));
}

/**
 * JOB_<KIND>_<SETTING> variables that name no registered kind (a typo, or a kind that was
 * removed): reported at start, since an override that silently does nothing is worse than none.
 */
export function unknownOverrides(jobs: readonly JobDefinition[], config: Config): string[] {
  const known = new Set(
    jobs.flatMap((job) =>
      ['CONCURRENCY', 'ATTEMPTS', 'BACKOFF_MS', 'SCHEDULE'].map((s) => envKey(job.name, s)),
    ),
  );
  return Object.keys(config.env).filter(
    (key) => /^JOB_[A-Z0-9_]+_(CONCURRENCY|ATTEMPTS|BACKOFF_MS|SCHEDULE)$/.test(key) && !known.has(key),
  );
}
