// The delivery ledger (email_deliveries, unique per tenant, guardian, digest kind and period).
// Sending is claim -> SMTP -> mark, each step its own short transaction, so the row says
// 'sending' while the SMTP conversation runs and a crash leaves evidence behind.
//
// A claim can be taken when the row is new, pending, skipped, failed temporarily (or failed
// permanently for an address that has since changed), or 'sending' but either claimed by an
// earlier attempt of the same BullMQ job (which only retries after that attempt died) or older
// than the lease. It is never taken from a 'sent' row: that is what makes a re-run, a retry or a
// restarted worker send nothing twice. The one window left, a crash after the SMTP server accepted
// the message but before 'sent' was written, resends with the same Message-ID (see message-id.ts)
// so the receiving side can drop the duplicate: we prefer a rare duplicate to a lost digest.
import { sql } from 'kysely';
import type { TenantTransaction } from '../../core/tenant-scope.js';
import type { DigestPeriod } from './period.js';

export interface DeliveryKey {
  tenantId: string;
  guardianId: string;
  period: DigestPeriod;
}

export type ReasonCode =
  | 'opted-out'
  | 'no-email'
  | 'invalid-address'
  | 'no-school-days'
  | 'smtp-permanent'
  | 'smtp-temporary';

export interface DeliveryRow {
  id: number;
  status: 'pending' | 'sending' | 'sent' | 'failed' | 'skipped';
  reason_code: string | null;
  claimed_by: string | null;
  attempts: number;
}

const keyValues = (key: DeliveryKey) =>
  sql`${key.tenantId}::uuid, ${key.guardianId}::uuid, ${key.period.kind}, ${key.period.from}::date, ${key.period.to}::date`;

export async function claimDelivery(
  trx: TenantTransaction,
  key: DeliveryKey,
  claim: { recipient: string; messageId: string; jobId: string; leaseSeconds: number },
): Promise<{ claimed: true; row: DeliveryRow } | { claimed: false; row: DeliveryRow | undefined }> {
  const { rows } = await sql<DeliveryRow>`
    INSERT INTO email_deliveries AS e
      (tenant_id, guardian_id, digest_kind, period_start, period_end, status, recipient, message_id,
       attempts, claimed_at, claimed_by)
    VALUES (${keyValues(key)}, 'sending', ${claim.recipient}, ${claim.messageId}, 1, now(), ${claim.jobId})
    ON CONFLICT (tenant_id, guardian_id, digest_kind, period_start, period_end) DO UPDATE
      SET status = 'sending', recipient = EXCLUDED.recipient, message_id = EXCLUDED.message_id,
          attempts = e.attempts + 1, claimed_at = now(), claimed_by = EXCLUDED.claimed_by,
          reason = NULL, reason_code = NULL
      WHERE e.status IN ('pending', 'skipped')
         OR (e.status = 'failed' AND (e.reason_code IS DISTINCT FROM 'smtp-permanent'
                                      OR e.recipient IS DISTINCT FROM EXCLUDED.recipient))
         OR (e.status = 'sending' AND (e.claimed_by = EXCLUDED.claimed_by
                                       OR e.claimed_at < now() - make_interval(secs => ${claim.leaseSeconds})))
    RETURNING e.id, e.status, e.reason_code, e.claimed_by, e.attempts`.execute(trx);
  if (rows[0]) return { claimed: true, row: rows[0] };
  return { claimed: false, row: await findDelivery(trx, key) };
}

export async function findDelivery(
  trx: TenantTransaction,
  key: DeliveryKey,
): Promise<DeliveryRow | undefined> {
  const { rows } = await sql<DeliveryRow>`
    SELECT id, status, reason_code, claimed_by, attempts FROM email_deliveries
    WHERE (tenant_id, guardian_id, digest_kind, period_start, period_end) = (${keyValues(key)})`.execute(trx);
  return rows[0];
}

export async function markSent(trx: TenantTransaction, id: number): Promise<void> {
  await sql`
    UPDATE email_deliveries SET status = 'sent', sent_at = now(), claimed_at = NULL, reason = NULL,
                                reason_code = NULL
    WHERE id = ${id}`.execute(trx);
}

export async function markFailed(
  trx: TenantTransaction,
  id: number,
  code: ReasonCode,
  reason: string,
): Promise<void> {
  await sql`
    UPDATE email_deliveries SET status = 'failed', reason_code = ${code}, reason = ${reason}, claimed_at = NULL
    WHERE id = ${id} AND status = 'sending'`.execute(trx);
}

export interface Outcome {
  guardianId: string;
  status: 'skipped' | 'failed';
  code: ReasonCode;
  reason: string;
  recipient: string | null;
}

/**
 * Record skips and input failures (no send attempted) for many guardians in one statement. A row
 * that was already sent, or is being sent, is left alone.
 */
export async function recordOutcomes(
  trx: TenantTransaction,
  tenantId: string,
  period: DigestPeriod,
  outcomes: readonly Outcome[],
): Promise<void> {
  if (outcomes.length === 0) return;
  await sql`
    INSERT INTO email_deliveries AS e
      (tenant_id, guardian_id, digest_kind, period_start, period_end, status, reason_code, reason, recipient)
    SELECT ${tenantId}::uuid, o.guardian_id, ${period.kind}, ${period.from}::date, ${period.to}::date,
           o.status, o.code, o.reason, o.recipient
    FROM unnest(${outcomes.map((o) => o.guardianId)}::uuid[], ${outcomes.map((o) => o.status)}::text[],
                ${outcomes.map((o) => o.code)}::text[], ${outcomes.map((o) => o.reason)}::text[],
                ${outcomes.map((o) => o.recipient)}::text[])
         AS o(guardian_id, status, code, reason, recipient)
    ON CONFLICT (tenant_id, guardian_id, digest_kind, period_start, period_end) DO UPDATE
      SET status = EXCLUDED.status, reason_code = EXCLUDED.reason_code, reason = EXCLUDED.reason,
          recipient = coalesce(EXCLUDED.recipient, e.recipient)
      WHERE e.status NOT IN ('sent', 'sending')`.execute(trx);
}

export interface PeriodSummary {
  sent: number;
  skipped: Record<string, number>;
  failed: Record<string, number>;
  pending: number;
}

/** The ledger's view of one tenant's period: what a run (and its fan-out) has done so far. */
export async function periodSummary(
  trx: TenantTransaction,
  tenantId: string,
  period: DigestPeriod,
): Promise<PeriodSummary> {
  const { rows } = await sql<{ status: string; reason_code: string | null; n: number }>`
    SELECT status, reason_code, count(*) AS n FROM email_deliveries
    WHERE tenant_id = ${tenantId} AND digest_kind = ${period.kind}
      AND period_start = ${period.from}::date AND period_end = ${period.to}::date
    GROUP BY status, reason_code`.execute(trx);
  const summary: PeriodSummary = { sent: 0, skipped: {}, failed: {}, pending: 0 };
  for (const row of rows) {
    const n = Number(row.n);
    if (row.status === 'sent') summary.sent += n;
    else if (row.status === 'skipped') summary.skipped[row.reason_code ?? 'unknown'] = n;
    else if (row.status === 'failed') summary.failed[row.reason_code ?? 'unknown'] = n;
    else summary.pending += n;
  }
  return summary;
}
