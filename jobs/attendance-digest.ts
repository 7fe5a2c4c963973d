// Plans one tenant's attendance digests for one period and fans out one send per guardian.
//
// Scheduled per tenant every hour on the tenant's own clock; the tenant's settings.digest
// (digests/settings.ts) decide whether a slot is due: weekly on Friday at 15:00 local by default,
// daily at that hour, or off. The period is computed in the tenant's time zone from the slot.
// On demand (from and to given, e.g. `run attendance-digest --tenant ID --from --to`) the period is
// custom and the sends run inline, so the command reports what was sent; `inline: false` fans out.
import { z } from 'zod';
import { requireSigningSecret } from '../core/config.js';
import { InputError } from '../core/errors.js';
import { withTenant } from '../core/tenant-scope.js';
import { getTenant } from '../core/tenants.js';
import { attendancePolicyFrom } from './attendance/policy.js';
import { defineJob, type JobContext } from './define-job.js';
import { isDeliverableAddress } from './digests/address.js';
import { type ChildFigures, childFigures, childrenOf, planRecipients } from './digests/figures.js';
import { type Outcome, recordOutcomes } from './digests/ledger.js';
import { createDigestTransport } from './digests/mailer.js';
import { digestSendJobId } from './digests/message-id.js';
import { customPeriod, type DigestPeriod, digestPeriod, localTime } from './digests/period.js';
import { type SendOutcome, sendGuardianDigest } from './digests/send.js';
import { digestSettingsFrom } from './digests/settings.js';

export interface DigestRunResult {
  tenantId: string;
  due: boolean;
  period?: DigestPeriod;
  /** Guardians with at least one child with school days, not opted out, with a usable address. */
  planned: number;
  enqueued: number;
  sent: number;
  /** Already sent (or permanently failed) for this period by an earlier run: not sent again. */
  alreadySent: number;
  /**
   * Claimed by another live attempt (or one that died less than DIGEST_CLAIM_LEASE_SECONDS ago):
   * left alone now; a later run sends them if they were never sent.
   */
  inFlight: number;
  skipped: { optedOut: number; noEmail: number; noSchoolDays: number };
  failed: Record<string, number>;
}

interface PlannedSend {
  guardianId: string;
  /** The guardian's children with school days in the period and their figures. */
  children: ChildFigures[];
}

function emptyResult(tenantId: string, due: boolean, period?: DigestPeriod): DigestRunResult {
  return {
    tenantId,
    due,
    period,
    planned: 0,
    enqueued: 0,
    sent: 0,
    alreadySent: 0,
    inFlight: 0,
    skipped: { optedOut: 0, noEmail: 0, noSchoolDays: 0 },
    failed: {},
  };
}

function tally(result: DigestRunResult, outcome: SendOutcome): void {
  if (outcome.status === 'sent') result.sent++;
  else if (outcome.status === 'unchanged' && outcome.inFlight) result.inFlight++;
  else if (outcome.status === 'unchanged' && outcome.current === 'sent') result.alreadySent++;
  else if (outcome.status === 'unchanged')
    result.failed['smtp-permanent'] = (result.failed['smtp-permanent'] ?? 0) + 1;
  else if (outcome.status === 'failed') result.failed[outcome.code] = (result.failed[outcome.code] ?? 0) + 1;
  else if (outcome.code === 'opted-out') result.skipped.optedOut++;
  else if (outcome.code === 'no-email') result.skipped.noEmail++;
  else if (outcome.code === 'no-school-days') result.skipped.noSchoolDays++;
}

/**
 * An inline run stops trying after this many sends in a row found the SMTP server unreachable
 * (4xx replies do not count: greylisting answers 4xx to every new recipient).
 */
const GIVE_UP_AFTER = 3;

async function giveUp(
  ctx: JobContext,
  tenantId: string,
  period: DigestPeriod,
  guardianIds: string[],
  result: DigestRunResult,
): Promise<void> {
  const reason = `not attempted: the SMTP server was unreachable ${GIVE_UP_AFTER} times in a row; run again later`;
  await withTenant(ctx.db, tenantId, (trx) =>
    recordOutcomes(
      trx,
      tenantId,
      period,
      guardianIds.map((guardianId) => ({
        guardianId,
        status: 'failed',
        code: 'smtp-temporary',
        reason,
        recipient: null,
      })),
    ),
  );
  result.failed['smtp-temporary'] = (result.failed['smtp-temporary'] ?? 0) + guardianIds.length;
}

export const attendanceDigest = defineJob({
  name: 'attendance-digest',
  description: "Plan one tenant's attendance digests for a period and send one email per guardian",
  payload: z.object({
    tenantId: z.string(),
    from: z.string().optional(),
    to: z.string().optional(),
    /** The scheduled slot (ISO instant); set by the scheduler, decides whether the run is due. */
    slot: z.iso.datetime({ offset: true }).optional(),
    /** Send in this job instead of fanning out (default: true for on-demand from/to runs). */
    inline: z.boolean().optional(),
  }),
  schedule: {
    cron: '0 * * * *',
    perTenant: true,
    payload: (slot) => ({ tenantId: slot.tenant?.id, slot: slot.at.toISOString() }),
  },
  async run(payload, ctx) {
    requireSigningSecret(ctx.config); // every email carries a signed unsubscribe link
    const tenant = await getTenant(ctx.db, payload.tenantId, 'tenantId');
    const settings = digestSettingsFrom(tenant.settings);
    const policy = attendancePolicyFrom(tenant.settings);

    let period: DigestPeriod;
    if (payload.from !== undefined || payload.to !== undefined) {
      period = customPeriod(payload.from, payload.to);
    } else if (payload.slot) {
      const at = new Date(payload.slot);
      const local = localTime(at, tenant.timeZone);
      const due =
        tenant.status === 'active' &&
        settings.frequency !== 'off' &&
        local.hour === settings.hour &&
        (settings.frequency === 'daily' || local.weekday === settings.weekday);
      if (!due) return emptyResult(tenant.id, false);
      period = digestPeriod(settings.frequency === 'daily' ? 'daily' : 'weekly', at, tenant.timeZone);
    } else {
      // Run now by hand: the tenant's current period; 'off' only stops the schedule.
      period = digestPeriod(
        settings.frequency === 'daily' ? 'daily' : 'weekly',
        ctx.clock.now(),
        tenant.timeZone,
      );
    }
    if (tenant.status !== 'active')
      throw new InputError(`tenant is ${tenant.status}, not active`, 'tenantId');

    const result = emptyResult(tenant.id, true, period);
    // Planning decides who gets an email and what it says: recipients and every child's figures in
    // one pass over the tenant, so each send only renders and delivers.
    const toSend = await withTenant(ctx.db, tenant.id, async (trx) => {
      const rules = { policy, nearThresholdPoints: settings.nearThresholdPoints };
      const figures = await childFigures(trx, tenant.id, period, rules);
      const recipients = await planRecipients(trx, tenant.id);
      const outcomes: Outcome[] = [];
      const sendTo: PlannedSend[] = [];
      for (const r of recipients) {
        const children = childrenOf(figures, r.studentIds);
        const base = { guardianId: r.guardianId, recipient: r.email };
        if (children.length === 0) result.skipped.noSchoolDays++;
        else if (r.optedOut) {
          result.skipped.optedOut++;
          outcomes.push({
            ...base,
            status: 'skipped',
            code: 'opted-out',
            reason: 'the guardian opted out of digests',
          });
        } else if (!r.email?.trim()) {
          result.skipped.noEmail++;
          outcomes.push({
            ...base,
            status: 'skipped',
            code: 'no-email',
            reason: 'the guardian has no email address',
          });
        } else if (!isDeliverableAddress(r.email.trim())) {
          result.failed['invalid-address'] = (result.failed['invalid-address'] ?? 0) + 1;
          outcomes.push({
            ...base,
            status: 'failed',
            code: 'invalid-address',
            reason: 'the email address is not a valid address; correct it in the guardian record',
          });
        } else sendTo.push({ guardianId: r.guardianId, children });
      }
      await recordOutcomes(trx, tenant.id, period, outcomes);
      return sendTo;
    });
    const chronicAbsencePercent = policy.chronicAbsencePercent;
    result.planned = toSend.length;
    await ctx.progress({ planned: result.planned });

    const inline = payload.inline ?? period.kind === 'custom';
    if (inline) {
      // Its own pooled transport, closed at the end, so a CLI run exits as soon as it is done.
      const mailer = createDigestTransport(ctx.config);
      try {
        let unreachableInARow = 0;
        for (const [index, { guardianId, children }] of toSend.entries()) {
          if (ctx.signal.aborted) throw new Error('stopped before all digests were sent; a retry resumes');
          if (unreachableInARow >= GIVE_UP_AFTER) {
            // The server is down or refusing everything: record the rest instead of waiting out
            // a connection timeout per guardian. A later run sends them.
            const rest = toSend.slice(index).map((planned) => planned.guardianId);
            await giveUp(ctx, tenant.id, period, rest, result);
            break;
          }
          const outcome = await sendGuardianDigest({ ...ctx, mailer }, tenant.id, guardianId, period, {
            children,
            chronicAbsencePercent,
          });
          tally(result, outcome);
          unreachableInARow = outcome.status === 'failed' && outcome.unreachable ? unreachableInARow + 1 : 0;
          if (index % 50 === 49) await ctx.progress({ planned: result.planned, done: index + 1 });
        }
      } finally {
        mailer.close();
      }
      return result;
    }

    // Per-tenant rate: space this tenant's sends so at most DIGEST_TENANT_RATE_MAX start per
    // window; the global cap is the send queue's BullMQ limiter.
    const perWindow = ctx.config.DIGEST_TENANT_RATE_MAX;
    for (const [index, { guardianId, children }] of toSend.entries()) {
      // The figures travel in the payload (children's names redacted on the board and in run
      // history: the send job's personalData); a retry of the job sends the same content.
      await ctx.enqueue(
        'attendance-digest-send',
        {
          tenantId: tenant.id,
          guardianId,
          kind: period.kind,
          from: period.from,
          to: period.to,
          children,
          chronicAbsencePercent,
        },
        {
          jobId: digestSendJobId(tenant.id, guardianId, period),
          delayMs:
            perWindow > 0 ? Math.floor(index / perWindow) * ctx.config.DIGEST_RATE_WINDOW_MS : undefined,
        },
      );
      result.enqueued++;
    }
    return result;
  },
});
