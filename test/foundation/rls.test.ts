import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../core/tenant-scope.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';

let database: TestDatabase;
let tenantA: string;
let tenantB: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const summary = await seedSchools(database.db, { tenants: 2, students: 30, days: 10 });
  [tenantA, tenantB] = summary.tenants.map((t) => t.id) as [string, string];
});
afterAll(() => database.drop());

const tenantTables = [
  'tenants',
  'users',
  'teachers',
  'students',
  'guardians',
  'student_guardians',
  'subjects',
  'academic_terms',
  'classes',
  'enrollments',
  'grades',
  'attendance',
  'invoices',
  'invoice_items',
  'payments',
  'audit_logs',
];

describe('row-level security', () => {
  it('a query without a tenant filter sees only the current tenant, on every tenant table', async () => {
    for (const table of tenantTables) {
      const column = table === 'tenants' ? 'id' : 'tenant_id';
      const seen = await withTenant(database.db, tenantA, async (trx) => {
        const { rows } = await sql<{ tenant: string; n: number }>`
          SELECT ${sql.ref(column)} AS tenant, count(*) AS n FROM ${sql.table(table)} GROUP BY 1`.execute(
          trx,
        );
        return rows;
      });
      expect(
        seen.map((r) => r.tenant),
        table,
      ).toEqual([tenantA]);
      expect(seen[0]!.n, table).toBeGreaterThan(0);
    }
  });

  it('asking for another tenant by id returns nothing, through the parent table and a view', async () => {
    const result = await withTenant(database.db, tenantA, async (trx) => {
      const students = await sql<{
        n: number;
      }>`SELECT count(*) AS n FROM students WHERE tenant_id = ${tenantB}`.execute(trx);
      const attendance = await sql<{
        n: number;
      }>`SELECT count(*) AS n FROM attendance WHERE tenant_id = ${tenantB}`.execute(trx);
      const view = await sql<{
        n: number;
      }>`SELECT count(*) AS n FROM view_payment_ledger WHERE tenant_id = ${tenantB}`.execute(trx);
      return { students: students.rows[0]!.n, attendance: attendance.rows[0]!.n, view: view.rows[0]!.n };
    });
    expect(result).toEqual({ students: 0, attendance: 0, view: 0 });
  });

  it('the tenant role cannot read a partition directly, and partitions carry the tenant policy', async () => {
    const { rows } = await sql<{ name: string; rls: boolean; forced: boolean; policies: number }>`
      SELECT c.relname AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
             (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN ('attendance'::regclass, 'audit_logs'::regclass)`.execute(database.db);
    expect(rows.length).toBeGreaterThan(2);
    for (const partition of rows)
      expect(partition, partition.name).toMatchObject({ rls: true, forced: true, policies: 1 });
    await expect(
      withTenant(database.db, tenantA, (trx) =>
        sql`SELECT count(*) FROM ${sql.table(rows[0]!.name)}`.execute(trx),
      ),
    ).rejects.toThrow(/permission denied/);
  });

  it('with no tenant set, the tenant role sees nothing at all', async () => {
    const n = await database.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL ROLE school_app`.execute(trx);
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM students`.execute(trx);
      return rows[0]!.n;
    });
    expect(n).toBe(0);
  });

  it('refuses writes into another tenant', async () => {
    await expect(
      withTenant(database.db, tenantA, (trx) =>
        sql`INSERT INTO exports (tenant_id, template_id, format) VALUES (${tenantB}, 'user-roster', 'csv')`.execute(
          trx,
        ),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('refuses a foreign key that points into another school', async () => {
    const { rows } = await sql<{ student: string; klass: string }>`
      SELECT (SELECT id FROM students WHERE tenant_id = ${tenantB} LIMIT 1) AS student,
             (SELECT id FROM classes WHERE tenant_id = ${tenantA} LIMIT 1) AS klass`.execute(database.db);
    // Even the owner, who bypasses RLS, cannot enroll tenant B's student in tenant A's class.
    await expect(
      sql`INSERT INTO enrollments (tenant_id, student_id, class_id, enrollment_date)
          VALUES (${tenantA}, ${rows[0]!.student}, ${rows[0]!.klass}, '2026-01-05')`.execute(database.db),
    ).rejects.toThrow(/foreign key/);
  });
});
