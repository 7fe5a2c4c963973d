// Looking up tenants, for jobs and the API. A tenant id that is not a UUID, or names no tenant,
// is bad input (not retryable), reported with the field it came from.
import { sql } from 'kysely';
import type { Db } from './db.js';
import { NotFoundError } from './errors.js';
import { assertUuid } from './tenant-scope.js';

export interface TenantInfo {
  id: string;
  slug: string;
  name: string;
  timeZone: string;
  locale: string;
  currency: string;
  primaryColor: string;
  secondaryColor: string;
  status: string;
  settings: Record<string, unknown>;
}

const columns = sql`id, slug, name, time_zone, locale, currency, primary_color, secondary_color, status, settings`;

interface TenantRow {
  id: string;
  slug: string;
  name: string;
  time_zone: string;
  locale: string;
  currency: string;
  primary_color: string;
  secondary_color: string;
  status: string;
  settings: Record<string, unknown>;
}

function toInfo(row: TenantRow): TenantInfo {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    timeZone: row.time_zone,
    locale: row.locale,
    currency: row.currency,
    primaryColor: row.primary_color,
    secondaryColor: row.secondary_color,
    status: row.status,
    settings: row.settings ?? {},
  };
}

export async function getTenant(db: Db, tenantId: string, field = 'tenantId'): Promise<TenantInfo> {
  assertUuid(tenantId, field);
  const { rows } = await sql<TenantRow>`SELECT ${columns} FROM tenants WHERE id = ${tenantId}`.execute(db);
  if (!rows[0]) throw new NotFoundError(`no tenant has id ${tenantId}`, field);
  return toInfo(rows[0]);
}

export async function listActiveTenants(db: Db): Promise<TenantInfo[]> {
  const { rows } =
    await sql<TenantRow>`SELECT ${columns} FROM tenants WHERE status = 'active' ORDER BY slug`.execute(db);
  return rows.map(toInfo);
}
