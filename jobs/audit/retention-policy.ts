// Per-tenant audit retention, from tenants.settings.audit:
//   { "retentionDays": 730, "legalHold": false }
// The default (AUDIT_RETENTION_DAYS, 730 = seed 003's two-year compliance rule) applies when a
// tenant sets nothing. A legal hold stops every deletion for that tenant (audit rows, exports, run
// and delivery records) until it is lifted. Every tenant's setting is validated before anything is
// deleted: one bad value stops the run with an error naming the tenant and the field.
import type { Config } from '../../core/config.js';
import type { Db } from '../../core/db.js';
import { InputError } from '../../core/errors.js';
import { listAllTenants } from './tenants.js';

/** Shorter than a month would drop the current month's partition under the school's feet. */
export const MIN_RETENTION_DAYS = 31;

export interface TenantRetention {
  tenantId: string;
  slug: string;
  retentionDays: number;
  legalHold: boolean;
}

export function checkRetentionDays(days: number, maxDays: number, field: string): void {
  if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS || days > maxDays) {
    throw new InputError(
      `audit retention must be a whole number of days from ${MIN_RETENTION_DAYS} (one month) to ${maxDays} ` +
        `(AUDIT_RETENTION_MAX_DAYS), got ${JSON.stringify(days)}`,
      field,
    );
  }
}

export async function loadAuditRetention(db: Db, config: Config): Promise<TenantRetention[]> {
  checkRetentionDays(config.AUDIT_RETENTION_DAYS, config.AUDIT_RETENTION_MAX_DAYS, 'AUDIT_RETENTION_DAYS');
  const tenants = await listAllTenants(db);
  return tenants.map((tenant) => {
    const field = `tenant ${tenant.slug} settings.audit`;
    const raw = tenant.settings.audit;
    if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
      throw new InputError('must be an object like {"retentionDays": 730, "legalHold": false}', field);
    }
    const audit = (raw ?? {}) as { retentionDays?: unknown; legalHold?: unknown };
    const retentionDays = audit.retentionDays ?? config.AUDIT_RETENTION_DAYS;
    checkRetentionDays(retentionDays as number, config.AUDIT_RETENTION_MAX_DAYS, `${field}.retentionDays`);
    if (audit.legalHold !== undefined && typeof audit.legalHold !== 'boolean') {
      throw new InputError(
        `must be true or false, got ${JSON.stringify(audit.legalHold)}`,
        `${field}.legalHold`,
      );
    }
    return {
      tenantId: tenant.id,
      slug: tenant.slug,
      retentionDays: retentionDays as number,
      legalHold: audit.legalHold === true,
    };
  });
}

/**
 * Whole audit partitions may go only when they are older than every tenant's retention; tenants
 * on legal hold are checked row by row by the caller (a partition holding any of their rows stays).
 */
export function auditPartitionCutoff(policies: TenantRetention[], defaultDays: number, now: Date): Date {
  const active = policies.filter((policy) => !policy.legalHold);
  const longest = active.length > 0 ? Math.max(...active.map((policy) => policy.retentionDays)) : defaultDays;
  return daysBefore(now, longest);
}

export function daysBefore(now: Date, days: number): Date {
  return new Date(now.getTime() - days * 86_400_000);
}
