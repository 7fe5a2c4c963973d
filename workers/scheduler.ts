// The scheduler role: node-cron clocks wake it at each kind's slots; every wake-up enqueues all
// slots that fell due since the last one (cron-parser), so regular firing, a missed slot after a
// restart (within SCHEDULER_GRACE_HOURS) and a tick from a test's ManualClock share one path.
//
// Exactly once across several schedulers: a slot's job id is derived from kind, tenant and slot
// time, and before adding it the scheduler claims a Redis key (SET NX) that lives longer than the
// grace window. BullMQ's own jobId dedup only holds while the job is kept; the claim holds even
// after the finished job was removed, so a late scheduler cannot run a slot twice.
import cron, { type ScheduledTask } from 'node-cron';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db.js';
import { errorMessage, isUnrecoverable } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from '../core/redis.js';
import { listActiveTenants, type TenantInfo } from '../core/tenants.js';
import type { JobDefinition } from '../jobs/define-job.js';
import { jobRegistry } from '../jobs/registry.js';
import { type JobSettings, type ResolvedSchedule, resolveAllJobSettings } from './job-settings.js';
import type { EnqueueFn } from './queues.js';
import { nextSlot, slotJobId, slotsBetween } from './schedule-slots.js';

export interface SchedulerDeps {
  db: Db;
  config: Config;
  clock: Clock;
  log: Logger;
  redis: Redis;
  enqueue: EnqueueFn;
  jobs?: readonly JobDefinition[];
}

export interface ScheduledKind {
  kind: string;
  schedule: ResolvedSchedule;
  definition: JobDefinition;
}

export function scheduledKinds(jobs: readonly JobDefinition[], config: Config): ScheduledKind[] {
  const settings = resolveAllJobSettings(jobs, config);
  return jobs.flatMap((definition) => {
    const schedule = (settings.get(definition.name) as JobSettings).schedule;
    return schedule ? [{ kind: definition.name, schedule, definition }] : [];
  });
}

/** The next run of every schedule, one line per tenant for per-tenant schedules (`cli schedule`). */
export async function listSchedules(
  db: Db | undefined,
  jobs: readonly JobDefinition[],
  config: Config,
  now: Date,
): Promise<
  {
    kind: string;
    cron: string;
    timeZone: string;
    source: string;
    tenantId?: string;
    tenant?: string;
    nextRun: string;
    jobId: string;
  }[]
> {
  const kinds = scheduledKinds(jobs, config);
  const tenants = kinds.some((k) => k.schedule.perTenant) && db ? await listActiveTenants(db) : [];
  return kinds.flatMap(({ kind, schedule }) => {
    const targets: (TenantInfo | undefined)[] = schedule.perTenant ? tenants : [undefined];
    return targets.map((tenant) => {
      const timeZone = tenant?.timeZone ?? schedule.timeZone;
      const at = nextSlot(schedule.cron, timeZone, now);
      return {
        kind,
        cron: schedule.cron,
        timeZone,
        source: schedule.source,
        ...(tenant ? { tenantId: tenant.id, tenant: tenant.name } : {}),
        nextRun: at.toISOString(),
        jobId: slotJobId(kind, tenant?.id, at),
      };
    });
  });
}

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #kinds: ScheduledKind[];
  #lastTick: Date | undefined;
  #ticking: Promise<string[]> = Promise.resolve([]);
  #tasks: ScheduledTask[] = [];

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.#kinds = scheduledKinds(deps.jobs ?? jobRegistry, deps.config);
  }

  get kinds(): readonly ScheduledKind[] {
    return this.#kinds;
  }

  /**
   * Catch up slots missed within the grace window, then (unless `clocks: false`, as in tests that
   * drive tick() with a ManualClock) start the node-cron clocks.
   */
  async start(options: { clocks?: boolean } = {}): Promise<string[]> {
    const added = await this.tick();
    if (options.clocks !== false) {
      // Global schedules get a clock on their own cron and zone. Per-tenant ones fire in each
      // tenant's own zone, and tenants come and go: one minute heartbeat re-reads them.
      for (const { schedule } of this.#kinds) {
        if (!schedule.perTenant) {
          this.#tasks.push(
            cron.schedule(schedule.cron, () => void this.tick(), { timezone: schedule.timeZone }),
          );
        }
      }
      if (this.#kinds.some((k) => k.schedule.perTenant)) {
        this.#tasks.push(cron.schedule('* * * * *', () => void this.tick()));
      }
    }
    this.#deps.log.info(
      {
        schedules: this.#kinds.map((k) => ({
          kind: k.kind,
          cron: k.schedule.cron,
          perTenant: !!k.schedule.perTenant,
        })),
        graceHours: this.#deps.config.SCHEDULER_GRACE_HOURS,
      },
      this.#kinds.length ? 'scheduler running' : 'scheduler running, but no job kind has a schedule yet',
    );
    return added;
  }

  async stop(): Promise<void> {
    for (const task of this.#tasks) await task.stop();
    this.#tasks = [];
    await this.#ticking.catch(() => {});
  }

  /** Enqueue every slot due since the last tick (the first looks back SCHEDULER_GRACE_HOURS). Serialised. */
  tick(): Promise<string[]> {
    this.#ticking = this.#ticking.catch(() => []).then(() => this.#tick());
    return this.#ticking;
  }

  async #tick(): Promise<string[]> {
    const { clock, config, log, db } = this.#deps;
    const now = clock.now();
    const after = this.#lastTick ?? new Date(now.getTime() - config.SCHEDULER_GRACE_HOURS * 3_600_000);
    if (now.getTime() <= after.getTime()) {
      this.#lastTick ??= now;
      return [];
    }
    let tenants: TenantInfo[] | undefined;
    let complete = true;
    const added: string[] = [];
    for (const { kind, schedule, definition } of this.#kinds) {
      try {
        if (schedule.perTenant && !tenants) tenants = await listActiveTenants(db);
        const targets: (TenantInfo | undefined)[] = schedule.perTenant ? (tenants ?? []) : [undefined];
        for (const tenant of targets) {
          const timeZone = tenant?.timeZone ?? schedule.timeZone;
          for (const at of slotsBetween(schedule.cron, timeZone, after, now)) {
            const jobId = await this.#addSlot(definition, schedule, at, tenant);
            if (jobId) added.push(jobId);
          }
        }
      } catch (error) {
        complete = false;
        log.error(
          { kind, err: { message: errorMessage(error) } },
          'could not enqueue scheduled slots; retrying next tick',
        );
      }
    }
    // On failure the window is kept, so the next tick tries again (claims make that safe).
    if (complete) this.#lastTick = now;
    return added;
  }

  async #addSlot(
    definition: JobDefinition,
    schedule: ResolvedSchedule,
    at: Date,
    tenant: TenantInfo | undefined,
  ): Promise<string | undefined> {
    const { redis, config, log, enqueue } = this.#deps;
    const jobId = slotJobId(definition.name, tenant?.id, at);
    const claimKey = `${config.QUEUE_PREFIX}:scheduler:slot:${jobId}`;
    // Longer than any window a scheduler looks back over, plus a day for clock skew.
    const ttlSeconds = (config.SCHEDULER_GRACE_HOURS + 24) * 3600;
    const claimed = await redis.set(claimKey, new Date().toISOString(), 'EX', ttlSeconds, 'NX');
    if (claimed !== 'OK') return undefined;
    const payload = schedule.payload?.({ at, tenant }) ?? (tenant ? { tenantId: tenant.id } : {});
    try {
      await enqueue(definition.name, payload, { jobId });
    } catch (error) {
      if (isUnrecoverable(error)) {
        // The slot's payload can never be valid (a bad schedule.payload): retrying every minute
        // would only repeat the error, so the claim stays and the slot is reported once.
        log.error(
          { jobId, kind: definition.name, err: { message: errorMessage(error) } },
          'scheduled slot refused',
        );
        return undefined;
      }
      await redis.del(claimKey);
      throw error;
    }
    log.info(
      { jobId, kind: definition.name, tenantId: tenant?.id, slot: at.toISOString() },
      'scheduled slot enqueued',
    );
    return jobId;
  }
}
