// A digest's Message-ID is derived from what makes it unique (tenant, guardian, kind, period),
// so a resend after a crash carries the same id and receivers can discard the duplicate. It is a
// hash, so the id reveals nothing about the school or the family.
import { createHash } from 'node:crypto';
import type { DigestPeriod } from './period.js';

export function mailDomain(mailFrom: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(mailFrom);
  return match?.[1] ?? 'localhost';
}

export function digestMessageId(
  tenantId: string,
  guardianId: string,
  period: DigestPeriod,
  mailFrom: string,
): string {
  const hash = createHash('sha256')
    .update([tenantId, guardianId, period.kind, period.from, period.to].join('|'))
    .digest('hex')
    .slice(0, 32);
  return `<digest.${hash}@${mailDomain(mailFrom)}>`;
}

/** The BullMQ job id of one guardian's send: the same slot and guardian always give the same id. */
export function digestSendJobId(tenantId: string, guardianId: string, period: DigestPeriod): string {
  return `attendance-digest-send.${tenantId}.${guardianId}.${period.kind}.${period.from}.${period.to}`;
}
