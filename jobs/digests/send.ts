// One guardian's digest, end to end: check opt-out and address (as the tenant, under RLS), take
// the children's figures planned for this send (or read them, for sends planned without), claim
// the ledger row, render, send over pooled SMTP, mark sent.
// Used by the attendance-digest-send job and by on-demand (inline) runs of attendance-digest.
import { sql } from 'kysely';
import type { Transporter } from 'nodemailer';
import type { Clock } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import type { Db } from '../../core/db.js';
import type { Logger } from '../../core/logger.js';
import { type TenantTransaction, withTenant } from '../../core/tenant-scope.js';
import { renderDigest, resolveDigestLocale } from '../../templates/digest/index.js';
import { attendancePolicyFrom } from '../attendance/policy.js';
import { headerSafe, isDeliverableAddress } from './address.js';
import { type ChildFigures, guardianChildFigures } from './figures.js';
import {
  claimDelivery,
  type DeliveryKey,
  markFailed,
  markSent,
  type ReasonCode,
  recordOutcomes,
} from './ledger.js';
import { classifySmtpError, digestMailer } from './mailer.js';
import { digestMessageId } from './message-id.js';
import type { DigestPeriod } from './period.js';
import { digestSettingsFrom } from './settings.js';
import { unsubscribeUrl } from './unsubscribe-token.js';

export interface SendContext {
  db: Db;
  config: Config;
  clock: Clock;
  log: Logger;
  /** Owner of the ledger claim: the BullMQ job id (stable across that job's retries). */
  jobId: string;
  /** A transport of the caller's (inline runs close theirs); default: the process-wide pool. */
  mailer?: Transporter;
}

export type SendOutcome =
  | { status: 'sent'; messageId: string }
  | { status: 'skipped'; code: ReasonCode | 'guardian-not-found' | 'tenant-not-active' }
  | { status: 'failed'; code: ReasonCode; reason: string; retryable: boolean; unreachable?: boolean }
  /** The ledger row is already final ('sent', or permanently failed) or being sent by another attempt. */
  | { status: 'unchanged'; current: string; inFlight: boolean };

interface TenantRow {
  name: string;
  status: string;
  locale: string;
  primary_color: string;
  secondary_color: string;
  settings: Record<string, unknown>;
}

interface GuardianRow {
  first_name: string;
  last_name: string;
  email: string | null;
  locale: string | null;
  digest_opt_out: boolean;
}

/**
 * What planning decided this guardian's email says: computed once for the whole tenant and carried
 * in the send job's payload, so a retried job sends the same figures and the send only renders.
 */
export interface PlannedFigures {
  children: ChildFigures[];
  chronicAbsencePercent: number;
}

interface Prepared {
  link: string;
  tenant: TenantRow;
  guardian: GuardianRow;
  email: string;
  children: ChildFigures[];
  chronicAbsencePercent: number;
  deliveryId: number;
  messageId: string;
}

async function prepare(
  trx: TenantTransaction,
  ctx: SendContext,
  key: DeliveryKey,
  planned: PlannedFigures | undefined,
): Promise<Prepared | Exclude<SendOutcome, { status: 'sent' }>> {
  const { tenantId, guardianId, period } = key;
  const { rows: tenants } = await sql<TenantRow>`
    SELECT name, locale, primary_color, secondary_color, settings, status FROM tenants WHERE id = ${tenantId}`.execute(
    trx,
  );
  const { rows: guardians } = await sql<GuardianRow>`
    SELECT first_name, last_name, email, locale, digest_opt_out FROM guardians
    WHERE tenant_id = ${tenantId} AND id = ${guardianId}`.execute(trx);
  const tenant = tenants[0];
  const guardian = guardians[0];
  if (!tenant || !guardian) return { status: 'skipped', code: 'guardian-not-found' };
  // A school suspended or archived after planning sends nothing more.
  if (tenant.status !== 'active') return { status: 'skipped', code: 'tenant-not-active' };

  const skip = async (status: 'skipped' | 'failed', code: ReasonCode, reason: string) => {
    await recordOutcomes(trx, tenantId, period, [
      { guardianId, status, code, reason, recipient: guardian.email },
    ]);
    return status === 'skipped'
      ? ({ status, code } as const)
      : ({ status, code, reason, retryable: false } as const);
  };
  // Checked again here, not only when planning: a guardian may opt out between the two.
  if (guardian.digest_opt_out) return skip('skipped', 'opted-out', 'the guardian opted out of digests');
  const email = guardian.email?.trim();
  if (!email) return skip('skipped', 'no-email', 'the guardian has no email address');
  if (!isDeliverableAddress(email)) {
    return skip(
      'failed',
      'invalid-address',
      'the email address is not a valid address; correct it in the guardian record',
    );
  }
  const figures = planned ?? (await readFigures(trx, tenant, key));
  const { children } = figures;
  if (children.length === 0)
    return skip('skipped', 'no-school-days', 'no child had school days in the period');

  // Everything that can fail for want of configuration fails before the claim.
  const link = unsubscribeUrl(ctx.config, tenantId, guardianId);
  const messageId = digestMessageId(tenantId, guardianId, period, ctx.config.MAIL_FROM);
  const claim = await claimDelivery(trx, key, {
    recipient: email,
    messageId,
    jobId: ctx.jobId,
    leaseSeconds: ctx.config.DIGEST_CLAIM_LEASE_SECONDS,
  });
  if (!claim.claimed) {
    const current = claim.row?.status ?? 'missing';
    return { status: 'unchanged', current, inFlight: current === 'sending' };
  }
  return {
    link,
    tenant,
    guardian,
    email,
    children,
    chronicAbsencePercent: figures.chronicAbsencePercent,
    deliveryId: claim.row.id,
    messageId,
  };
}

/** Figures for a send planned without them: this guardian's children, read now. */
async function readFigures(
  trx: TenantTransaction,
  tenant: TenantRow,
  key: DeliveryKey,
): Promise<PlannedFigures> {
  const policy = attendancePolicyFrom(tenant.settings);
  const rules = { policy, nearThresholdPoints: digestSettingsFrom(tenant.settings).nearThresholdPoints };
  const children = await guardianChildFigures(trx, key.tenantId, key.guardianId, key.period, rules);
  return { children, chronicAbsencePercent: policy.chronicAbsencePercent };
}

export async function sendGuardianDigest(
  ctx: SendContext,
  tenantId: string,
  guardianId: string,
  period: DigestPeriod,
  planned?: PlannedFigures,
): Promise<SendOutcome> {
  const key = { tenantId, guardianId, period };
  const prepared = await withTenant(ctx.db, tenantId, (trx) => prepare(trx, ctx, key, planned));
  if ('status' in prepared) return prepared;

  const { link, tenant, guardian, email, children, messageId, deliveryId } = prepared;
  const rendered = renderDigest({
    school: { name: tenant.name, primaryColor: tenant.primary_color, secondaryColor: tenant.secondary_color },
    guardian: { firstName: guardian.first_name, lastName: guardian.last_name },
    locale: resolveDigestLocale(guardian.locale, tenant.locale),
    period,
    children,
    chronicAbsencePercent: prepared.chronicAbsencePercent,
    unsubscribeUrl: link,
  });
  try {
    await (ctx.mailer ?? digestMailer(ctx.config)).sendMail({
      from: ctx.config.MAIL_FROM,
      to: { name: headerSafe(`${guardian.first_name} ${guardian.last_name}`), address: email },
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      messageId,
      date: ctx.clock.now(),
      headers: {
        'List-Unsubscribe': `<${link}>`,
        // RFC 8058 one-click: mail providers POST "List-Unsubscribe=One-Click" to the link.
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
  } catch (error) {
    const failure = classifySmtpError(error);
    await withTenant(ctx.db, tenantId, (trx) => markFailed(trx, deliveryId, failure.code, failure.reason));
    ctx.log.warn({ guardianId, code: failure.code, reason: failure.reason }, 'digest not delivered');
    return {
      status: 'failed',
      code: failure.code,
      reason: failure.reason,
      retryable: !failure.permanent,
      unreachable: failure.unreachable,
    };
  }
  await withTenant(ctx.db, tenantId, (trx) => markSent(trx, deliveryId));
  return { status: 'sent', messageId };
}
