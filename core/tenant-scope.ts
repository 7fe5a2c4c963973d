// Tenant-scoped work runs inside a transaction that switches to the school_app role (no
// BYPASSRLS) and sets app.tenant_id, so every row-level security policy applies: a report query
// that forgets its tenant filter returns nothing from another school instead of leaking it.
// Maintenance (partitions, cleanup, cross-tenant rollups) deliberately does not use this and
// runs as the connecting role; call sites say which one they use.
import { sql, type Transaction } from 'kysely';
import type { Database } from './database-types.js';
import type { Db } from './db.js';
import { InputError } from './errors.js';

export const TENANT_ROLE = 'school_app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function assertUuid(value: string, field = 'tenantId'): void {
  if (!isUuid(value))
    throw new InputError(`must be a UUID, got ${JSON.stringify(value).slice(0, 60)}`, field);
}

export type TenantTransaction = Transaction<Database>;

export async function withTenant<T>(
  db: Db,
  tenantId: string,
  work: (trx: TenantTransaction) => Promise<T>,
): Promise<T> {
  assertUuid(tenantId);
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('app.tenant_id', ${tenantId}, true)`.execute(trx);
    await sql.raw(`SET LOCAL ROLE ${TENANT_ROLE}`).execute(trx);
    return work(trx);
  });
}
