import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../core/db.js';
import { generateSchoolData } from '../../seed/generate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools, TEST_TODAY } from '../helpers/seed.js';

let first: TestDatabase;
let second: TestDatabase;
const options = { tenants: 3, students: 80, days: 45, auditRows: 300 };

beforeAll(async () => {
  [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  await Promise.all([seedSchools(first.db, options), seedSchools(second.db, options)]);
});
afterAll(async () => {
  await first.drop();
  await second.drop();
});

const TABLES = [
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

/** A digest of every row's content, ignoring the columns PostgreSQL fills with now(). */
async function fingerprint(db: Db, table: string): Promise<string> {
  const { rows } = await sql<{ digest: string }>`
    SELECT md5(coalesce(string_agg(r, '|' ORDER BY r), '')) AS digest
    FROM (SELECT (to_jsonb(t) - 'updated_at' - CASE WHEN ${table} = 'audit_logs' THEN '' ELSE 'created_at' END)::text AS r
          FROM ${sql.table(table)} t) x`.execute(db);
  return rows[0]!.digest;
}

async function one<T>(db: Db, query: ReturnType<typeof sql<T>>): Promise<T> {
  return (await query.execute(db)).rows[0]!;
}

describe('synthetic data generator', () => {
  it('is deterministic for a seed number, and a different seed gives different data', async () => {
    for (const table of TABLES) {
      expect(await fingerprint(first.db, table), table).toBe(await fingerprint(second.db, table));
    }
    await generateSchoolData(second.db, { ...options, seed: 2, today: TEST_TODAY });
    const students = await one(
      second.db,
      sql<{ n: number }>`SELECT count(DISTINCT first_name || last_name) AS n FROM students`,
    );
    expect(students.n).toBeGreaterThan(0);
    expect(await fingerprint(second.db, 'students')).not.toBe(await fingerprint(first.db, 'students'));
  });

  it('re-running the same seed replaces its tenants instead of duplicating them', async () => {
    const before = await one(first.db, sql<{ n: number }>`SELECT count(*) AS n FROM attendance`);
    const digests = await Promise.all(TABLES.map((table) => fingerprint(first.db, table)));
    await seedSchools(first.db, options);
    const after = await one(first.db, sql<{ n: number }>`SELECT count(*) AS n FROM attendance`);
    expect(after.n).toBe(before.n);
    expect(await Promise.all(TABLES.map((table) => fingerprint(first.db, table)))).toEqual(digests);
  });

  it('leaves no dangling reference, although it bulk-loads with triggers skipped', async () => {
    const { rows: fks } = await sql<{
      child: string;
      parent: string;
      child_cols: string[];
      parent_cols: string[];
    }>`
      SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent,
             ARRAY(SELECT attname FROM unnest(conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.n ORDER BY i)::text[] AS child_cols,
             ARRAY(SELECT attname FROM unnest(confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = confrelid AND a.attnum = k.n ORDER BY i)::text[] AS parent_cols
      FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND connamespace = 'public'::regnamespace`.execute(
      first.db,
    );
    expect(fks.length).toBeGreaterThan(20);
    for (const fk of fks) {
      const notNull = fk.child_cols.map((c) => `c.${c} IS NOT NULL`).join(' AND ');
      const match = fk.child_cols.map((c, i) => `p.${fk.parent_cols[i]} = c.${c}`).join(' AND ');
      const { rows } = await sql<{ n: number }>`
        SELECT count(*) AS n FROM ${sql.raw(fk.child)} c
        WHERE ${sql.raw(notNull)} AND NOT EXISTS (SELECT 1 FROM ${sql.raw(fk.parent)} p WHERE ${sql.raw(match)})`.execute(
        first.db,
      );
      expect(rows[0]!.n, `${fk.child}(${fk.child_cols}) -> ${fk.parent}`).toBe(0);
    }
  });

  it('produces the shapes a real district has', async () => {
    const db = first.db;
    const statuses = await sql<{ status: string }>`SELECT DISTINCT status FROM attendance ORDER BY 1`.execute(
      db,
    );
    expect(statuses.rows.map((r) => r.status)).toEqual(['absent', 'excused', 'late', 'present', 'tardy']);

    const weekend = await one(
      db,
      sql<{ n: number }>`SELECT count(*) AS n FROM attendance WHERE extract(isodow FROM attendance_date) > 5`,
    );
    expect(weekend.n).toBe(0);
    const lastDay = await one(db, sql<{ d: string }>`SELECT max(attendance_date) AS d FROM attendance`);
    expect(lastDay.d < TEST_TODAY).toBe(true);

    const chronic = await one(
      db,
      sql<{ n: number; total: number }>`
      SELECT count(*) FILTER (WHERE missed >= 0.10 * days) AS n, count(*) AS total FROM (
        SELECT student_id, count(*) AS days, count(*) FILTER (WHERE status IN ('absent', 'excused')) AS missed
        FROM attendance GROUP BY student_id) s`,
    );
    expect(chronic.n).toBeGreaterThan(0);
    expect(chronic.n).toBeLessThan(chronic.total * 0.3);

    // Excused absences cluster: the worst day is far above the typical one.
    const excused = await one(
      db,
      sql<{ peak: number; typical: number }>`
      SELECT max(rate) AS peak, percentile_cont(0.5) WITHIN GROUP (ORDER BY rate) AS typical FROM (
        SELECT tenant_id, attendance_date, avg((status = 'excused')::int) AS rate FROM attendance GROUP BY 1, 2) d`,
    );
    expect(Number(excused.peak)).toBeGreaterThan(3 * Number(excused.typical));

    const families = await one(
      db,
      sql<{ siblings: number; two_guardians: number; max_children: number }>`
      SELECT (SELECT count(*) FROM (SELECT guardian_id FROM student_guardians GROUP BY 1 HAVING count(*) >= 2) g) AS siblings,
             (SELECT count(*) FROM (SELECT student_id FROM student_guardians GROUP BY 1 HAVING count(*) = 2) s) AS two_guardians,
             (SELECT max(n) FROM (SELECT count(*) AS n FROM student_guardians GROUP BY guardian_id) m) AS max_children`,
    );
    expect(families.siblings).toBeGreaterThan(0);
    expect(families.two_guardians).toBeGreaterThan(0);
    expect(families.max_children).toBe(3);

    const places = await one(
      db,
      sql<{ zones: number; locales: number }>`
      SELECT count(DISTINCT time_zone) AS zones, count(DISTINCT locale) AS locales FROM tenants`,
    );
    expect(places).toEqual({ zones: 3, locales: 3 });

    const names = await one(
      db,
      sql<{ accents: number; apostrophes: number }>`
      SELECT count(*) FILTER (WHERE first_name || last_name ~ '[À-ÿ]') AS accents,
             count(*) FILTER (WHERE last_name LIKE '%''%') AS apostrophes FROM students`,
    );
    expect(names.accents).toBeGreaterThan(0);
    expect(names.apostrophes).toBeGreaterThan(0);

    const invoices = await one(
      db,
      sql<Record<string, number>>`
      WITH paid AS (
        SELECT i.id, i.status, i.total_amount, i.due_date,
               coalesce(sum(CASE WHEN p.kind = 'refund' THEN -p.amount ELSE p.amount END) FILTER (WHERE p.status = 'settled'), 0) AS net
        FROM invoices i LEFT JOIN payments p ON p.tenant_id = i.tenant_id AND p.invoice_id = i.id GROUP BY i.id)
      SELECT count(*) FILTER (WHERE status NOT IN ('draft', 'cancelled') AND net >= total_amount AND net <= total_amount) AS paid,
             count(*) FILTER (WHERE status NOT IN ('draft', 'cancelled') AND net > 0 AND net < total_amount) AS partly_paid,
             count(*) FILTER (WHERE status NOT IN ('draft', 'cancelled') AND net > total_amount) AS overpaid,
             count(*) FILTER (WHERE status NOT IN ('draft', 'cancelled') AND net = 0 AND due_date < ${TEST_TODAY}::date) AS overdue,
             count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
             count(*) FILTER (WHERE status = 'draft') AS draft
      FROM paid`,
    );
    for (const [shape, n] of Object.entries(invoices)) expect(n, shape).toBeGreaterThan(0);

    const payments = await one(
      db,
      sql<{ refunds: number; voided: number; failed: number }>`
      SELECT count(*) FILTER (WHERE kind = 'refund') AS refunds, count(*) FILTER (WHERE status = 'voided') AS voided,
             count(*) FILTER (WHERE status = 'failed') AS failed FROM payments`,
    );
    expect(payments.refunds).toBeGreaterThan(0);
    expect(payments.voided).toBeGreaterThan(0);
    expect(payments.failed).toBeGreaterThan(0);

    const audit = await one(
      db,
      sql<{
        months: number;
      }>`SELECT count(DISTINCT date_trunc('month', created_at)) AS months FROM audit_logs`,
    );
    expect(audit.months).toBeGreaterThanOrEqual(29);

    const guardians = await one(
      db,
      sql<{ no_email: number; opted_out: number; other_locale: number }>`
      SELECT count(*) FILTER (WHERE g.email IS NULL) AS no_email, count(*) FILTER (WHERE g.digest_opt_out) AS opted_out,
             count(*) FILTER (WHERE g.locale <> t.locale) AS other_locale
      FROM guardians g JOIN tenants t ON t.id = g.tenant_id`,
    );
    expect(guardians.no_email).toBeGreaterThan(0);
    expect(guardians.opted_out).toBeGreaterThan(0);
    expect(guardians.other_locale).toBeGreaterThan(0);
  });

  it('rejects zero or negative sizes with the flag named, writing nothing', async () => {
    const before = await one(first.db, sql<{ n: number }>`SELECT count(*) AS n FROM tenants`);
    await expect(seedSchools(first.db, { students: 0 })).rejects.toThrow(
      /--students: must be a whole number from 1/,
    );
    await expect(seedSchools(first.db, { tenants: -1 })).rejects.toThrow(/--tenants/);
    await expect(seedSchools(first.db, { today: '2026-13-01' })).rejects.toThrow(/--today/);
    const after = await one(first.db, sql<{ n: number }>`SELECT count(*) AS n FROM tenants`);
    expect(after.n).toBe(before.n);
  });
});
