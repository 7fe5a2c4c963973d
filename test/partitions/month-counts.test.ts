import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createTenant, insertAudit, rotate } from './helpers.js';

// sql/0031: per-tenant month counts kept by statement triggers must equal a real count whatever
// writes the rows, and retention must report them without scanning.
describe('audit month counts', () => {
  let db: TestDatabase;
  let a = '';
  let b = '';

  const kept = async () =>
    (
      await sql<{ tenant_id: string; month: string; rows: number }>`
        SELECT tenant_id::text, to_char(month, 'YYYY-MM') AS month, sum(rows)::int AS rows
        FROM audit_log_month_counts GROUP BY 1, 2 HAVING sum(rows) <> 0 ORDER BY 1, 2`.execute(db.db)
    ).rows;
  const actual = async () =>
    (
      await sql<{ tenant_id: string; month: string; rows: number }>`
        SELECT tenant_id::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, count(*)::int AS rows
        FROM audit_logs GROUP BY 1, 2 ORDER BY 1, 2`.execute(db.db)
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await createTenant(db.db, 'a');
    b = await createTenant(db.db, 'b');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('match the rows after inserts, deletes, updates across months and a bulk load in replica mode', async () => {
    await insertAudit(db.db, a, '2023-01-01T00:00:00Z', '2023-04-01T00:00:00Z', 90);
    await insertAudit(db.db, b, '2023-02-15T00:00:00Z', '2023-03-15T00:00:00Z', 40);
    // The last instant of a UTC month belongs to that month, whatever the session time zone.
    await sql`SET TIME ZONE 'Asia/Kolkata'`.execute(db.db);
    await sql`INSERT INTO audit_logs (tenant_id, created_at, action, resource_type)
              VALUES (${a}, '2023-01-31T23:59:59Z', 'update', 'x')`.execute(db.db);
    await sql`RESET TIME ZONE`.execute(db.db);
    await sql`DELETE FROM audit_logs WHERE tenant_id = ${a} AND created_at < '2023-01-10T00:00:00Z'`.execute(
      db.db,
    );
    // An update moving rows to another month (and partition).
    await sql`UPDATE audit_logs SET created_at = created_at + interval '1 month'
              WHERE tenant_id = ${b} AND created_at < '2023-03-01T00:00:00Z'`.execute(db.db);
    await db.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      await insertAudit(trx, b, '2023-05-01T00:00:00Z', '2023-05-20T00:00:00Z', 25);
    });
    expect(await kept()).toEqual(await actual());
    expect((await kept()).length).toBeGreaterThan(3);
  });

  it('gives retention exact per-tenant counts and keeps counting backdated rows that arrive later', async () => {
    const expected = await actual();
    const result = await rotate(db.db, { now: '2026-03-16T12:00:00Z' }).run;
    const retired = result.tables.audit_logs!.retired;
    const reported = retired.flatMap((month) =>
      Object.entries(month.rowsByTenant).map(([tenant, rows]) => ({
        tenant_id: tenant,
        month: month.name.replace(/^audit_logs_p(\d{4})_(\d{2})$/, '$1-$2'),
        rows,
      })),
    );
    const byKey = (x: { tenant_id: string; month: string }) => `${x.tenant_id}/${x.month}`;
    expect(reported.sort((x, y) => byKey(x).localeCompare(byKey(y)))).toEqual(
      expected.filter((row) => row.month < '2024-03').sort((x, y) => byKey(x).localeCompare(byKey(y))),
    );
    expect(retired.some((month) => month.estimated)).toBe(false);
    // A row for a dropped month lands in the default partition and is counted again.
    await sql`INSERT INTO audit_logs (tenant_id, created_at, action, resource_type)
              VALUES (${a}, '2023-02-02T00:00:00Z', 'update', 'late')`.execute(db.db);
    expect(await kept()).toEqual(await actual());
    // Rotation folded the deltas into one row per tenant and month.
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM audit_log_month_counts
      GROUP BY tenant_id, month HAVING count(*) > 1 LIMIT 1`.execute(db.db);
    expect(rows).toEqual([]);
  });
});
