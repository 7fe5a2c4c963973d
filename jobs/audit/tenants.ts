// Every tenant whatever its status: a suspended or archived school's audit trail still ages out
// (or stays on legal hold) like anyone else's.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';

export interface TenantSettingsRow {
  id: string;
  slug: string;
  settings: Record<string, unknown>;
}

export async function listAllTenants(db: Db): Promise<TenantSettingsRow[]> {
  const { rows } = await sql<TenantSettingsRow>`SELECT id, slug, settings FROM tenants ORDER BY slug`.execute(
    db,
  );
  return rows.map((row) => ({ ...row, settings: row.settings ?? {} }));
}
