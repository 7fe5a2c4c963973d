// One guardian's attendance digest for one period, fanned out by attendance-digest with a
// deterministic job id (message-id.ts). Exactly once per (tenant, guardian, kind, period) through
// the delivery ledger (digests/ledger.ts). A permanent SMTP rejection (5xx) or a bad address is
// recorded and fails without retries; a temporary one (4xx, connection lost, server down) is
// recorded and thrown, so BullMQ retries it with exponential backoff.
import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../core/config.js';
import { InfraError } from '../core/errors.js';
import { assertUuid } from '../core/tenant-scope.js';
import type { QueueDefaults } from './define-job.js';
import { defineJob } from './define-job.js';
import { closeDigestMailers } from './digests/mailer.js';
import { customPeriod } from './digests/period.js';
import { sendGuardianDigest } from './digests/send.js';

/** The queue settings this kind needs, from its own config keys (applied when the worker starts). */
export function digestSendQueue(config: Config): QueueDefaults {
  return {
    concurrency: config.DIGEST_SMTP_POOL_SIZE * 2,
    attempts: 8,
    backoffMs: 30_000,
    // BullMQ's limiter counts jobs across every worker of the queue: a global rate.
    limiter: { max: config.DIGEST_RATE_MAX, durationMs: config.DIGEST_RATE_WINDOW_MS },
  };
}

const childFiguresSchema = z.object({
  studentId: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  schoolDays: z.number().int(),
  present: z.number().int(),
  late: z.number().int(),
  absent: z.number().int(),
  excused: z.number().int(),
  absences: z.array(
    z.object({ date: z.string(), status: z.enum(['absent', 'excused']), reason: z.string().nullable() }),
  ),
  termStart: z.string(),
  daysInMembership: z.number().int(),
  termRate: z.number().nullable(),
  rateChange: z.number().nullable(),
  absencePercent: z.number().nullable(),
  chronic: z.enum(['at', 'near']).nullable(),
});

export const attendanceDigestSend = defineJob({
  name: 'attendance-digest-send',
  description: "Send one guardian's attendance digest for one period (exactly once)",
  payload: z.object({
    tenantId: z.string(),
    guardianId: z.string(),
    kind: z.enum(['daily', 'weekly', 'custom']),
    from: z.string(),
    to: z.string(),
    /**
     * The figures planning computed (attendance-digest): the send renders them as they are, so a
     * retry sends the same content. Absent in jobs queued before planning carried them: read then.
     */
    children: z.array(childFiguresSchema).optional(),
    chronicAbsencePercent: z.number().optional(),
  }),
  // Children's names and absence reasons are personal data: redacted on the board and in run history.
  personalData: ['children.*.firstName', 'children.*.lastName', 'children.*.absences.*.reason'],
  queue: digestSendQueue,
  release: closeDigestMailers,
  async run(payload, ctx) {
    assertUuid(payload.tenantId, 'tenantId');
    assertUuid(payload.guardianId, 'guardianId');
    const checked = customPeriod(payload.from, payload.to);
    const period = { ...checked, kind: payload.kind };
    const planned =
      payload.children && payload.chronicAbsencePercent !== undefined
        ? { children: payload.children, chronicAbsencePercent: payload.chronicAbsencePercent }
        : undefined;
    const outcome = await sendGuardianDigest(ctx, payload.tenantId, payload.guardianId, period, planned);
    if (outcome.status === 'failed') {
      if (outcome.retryable) throw new InfraError(`digest not delivered, will retry: ${outcome.reason}`);
      throw new UnrecoverableError(`digest not delivered (${outcome.code}): ${outcome.reason}`);
    }
    if (outcome.status === 'unchanged' && outcome.inFlight) {
      // Another live attempt holds the claim; retry after backoff, by then it is sent or stale.
      throw new InfraError('this digest is being sent by another attempt; retrying later');
    }
    return outcome;
  },
});
