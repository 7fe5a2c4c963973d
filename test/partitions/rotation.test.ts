import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../core/tenant-scope.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';
import { countRows, createTenant, insertAudit, partitionsOf, rotate } from './helpers.js';

describe('partition rotation on an empty set', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('creates the current month and three ahead for both tables, whether or not data arrived', async () => {
    const { run } = rotate(db.db, { now: '2026-03-16T12:00:00Z' });
    const result = await run;
    expect(result.tables.attendance?.created).toEqual([
      'attendance_p2026_03',
      'attendance_p2026_04',
      'attendance_p2026_05',
      'attendance_p2026_06',
    ]);
    expect(result.tables.audit_logs?.created).toHaveLength(4);
    expect(await partitionsOf(db.db, 'audit_logs')).toEqual([
      'audit_logs_default',
      'audit_logs_p2026_03',
      'audit_logs_p2026_04',
      'audit_logs_p2026_05',
      'audit_logs_p2026_06',
    ]);
  });

  it('is a no-op when run again', async () => {
    const before = await partitionsOf(db.db, 'attendance');
    const result = await rotate(db.db, { now: '2026-03-20T12:00:00Z' }).run;
    expect(result.tables.attendance).toEqual({
      created: [],
      rowsMoved: 0,
      retired: [],
      heldBack: [],
      deferred: [],
    });
    expect(result.tables.audit_logs?.created).toEqual([]);
    expect(result.tables.audit_logs?.retired).toEqual([]);
    expect(await partitionsOf(db.db, 'attendance')).toEqual(before);
  });

  it('fills the gap after months without a run', async () => {
    const result = await rotate(db.db, { now: '2026-10-02T00:30:00Z' }).run;
    expect(result.tables.attendance?.created).toEqual([
      'attendance_p2026_07',
      'attendance_p2026_08',
      'attendance_p2026_09',
      'attendance_p2026_10',
      'attendance_p2026_11',
      'attendance_p2026_12',
      'attendance_p2027_01',
    ]);
  });

  it('takes a premake from the payload and refuses zero or absurd values before any DDL', async () => {
    const result = await rotate(db.db, { now: '2026-10-02T00:30:00Z', payload: { premakeMonths: 5 } }).run;
    expect(result.tables.audit_logs?.created).toEqual(['audit_logs_p2027_02', 'audit_logs_p2027_03']);
    const before = await partitionsOf(db.db, 'audit_logs');
    expect(() => rotate(db.db, { now: '2026-10-02T00:30:00Z', payload: { premakeMonths: 0 } })).toThrow(
      /payload\.premakeMonths: create at least 1 month ahead/,
    );
    expect(() => rotate(db.db, { now: '2026-10-02T00:30:00Z', payload: { premakeMonths: 600 } })).toThrow(
      /payload\.premakeMonths/,
    );
    expect(() =>
      rotate(db.db, { now: '2026-10-02T00:30:00Z', env: { PARTITION_PREMAKE_MONTHS: '0' } }),
    ).toThrow(/PARTITION_PREMAKE_MONTHS/);
    expect(await partitionsOf(db.db, 'audit_logs')).toEqual(before);
  });
});

describe('UTC boundaries', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await sql.raw(`ALTER DATABASE ${db.name} SET timezone = 'Asia/Kolkata'`).execute(db.db);
    await db.pool.end().catch(() => {});
  });
  afterAll(async () => {});

  it('bounds months at UTC midnight even when the connection runs in Asia/Kolkata', async () => {
    const { createDatabase } = await import('../../core/db.js');
    const { silentLogger } = await import('../../core/logger.js');
    const kolkata = createDatabase(db.url, { log: silentLogger, max: 3 });
    try {
      const zone = await sql<{ tz: string }>`SELECT current_setting('TimeZone') AS tz`.execute(kolkata.db);
      expect(zone.rows[0]!.tz).toBe('Asia/Kolkata');
      const tenant = await createTenant(kolkata.db, 'kolkata');
      // 20:00 UTC on 31 March is already 1 April in Kolkata: it still belongs to March (UTC).
      await insertAudit(kolkata.db, tenant, '2026-03-31T20:00:00Z', '2026-03-31T20:00:01Z', 1);
      await insertAudit(kolkata.db, tenant, '2026-04-01T00:00:00Z', '2026-04-01T00:00:01Z', 1);
      const result = await rotate(kolkata.db, { now: '2026-03-31T20:00:00Z' }).run;
      expect(result.tables.audit_logs?.created[0]).toBe('audit_logs_p2026_03');
      expect(result.rowsMoved).toBe(2);
      const { rows } = await sql<{ part: string; at: string }>`
        SELECT tableoid::regclass::text AS part, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS at
        FROM audit_logs ORDER BY created_at`.execute(kolkata.db);
      expect(rows).toEqual([
        { part: 'audit_logs_p2026_03', at: '2026-03-31 20:00' },
        { part: 'audit_logs_p2026_04', at: '2026-04-01 00:00' },
      ]);
    } finally {
      await kolkata.close();
      const { ADMIN_URL } = await import('../helpers/postgres.js');
      const pg = (await import('pg')).default;
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('rescue, retention, indexes and RLS on seeded schools', () => {
  let db: TestDatabase;
  let tenants: string[];
  beforeAll(async () => {
    db = await createTestDatabase();
    await seedSchools(db.db, { auditRows: 600 });
    const { rows } = await sql<{ id: string }>`SELECT id FROM tenants ORDER BY slug`.execute(db.db);
    tenants = rows.map((row) => row.id);
  });
  afterAll(async () => db.drop());

  it('moves rows from the default partition into new partitions and reports how many', async () => {
    const student = await sql<{ id: string }>`
      SELECT id FROM students WHERE tenant_id = ${tenants[0]!} LIMIT 1`.execute(db.db);
    await sql`
      INSERT INTO attendance (tenant_id, student_id, attendance_date, status)
      VALUES (${tenants[0]!}, ${student.rows[0]!.id}, '2027-02-10', 'present'),
             (${tenants[0]!}, ${student.rows[0]!.id}, '2027-02-11', 'absent')`.execute(db.db);
    await insertAudit(db.db, tenants[1]!, '2031-01-05T00:00:00Z', '2031-01-06T00:00:00Z', 3);
    expect(await countRows(db.db, 'attendance_default')).toBe(2);
    const attendanceBefore = await countRows(db.db, 'attendance');

    // A long retention here: this step is about the rescue, retention comes next.
    const result = await rotate(db.db, { now: '2026-03-16T12:00:00Z', env: { AUDIT_RETENTION_DAYS: '3650' } })
      .run;
    expect(result.tables.audit_logs?.retired).toEqual([]);
    expect(result.tables.attendance?.created).toEqual(['attendance_p2027_02']);
    expect(result.tables.attendance?.rowsMoved).toBe(2);
    expect(result.tables.audit_logs?.created).toEqual(['audit_logs_p2031_01']);
    expect(result.rowsMoved).toBe(5);
    expect(await countRows(db.db, 'attendance_default')).toBe(0);
    expect(await countRows(db.db, 'audit_logs_default')).toBe(0);
    expect(await countRows(db.db, 'attendance_p2027_02')).toBe(2);
    expect(await countRows(db.db, 'attendance')).toBe(attendanceBefore);
  });

  it("gives new partitions the parent's indexes, foreign keys, triggers and forced RLS", async () => {
    for (const [table, partition] of [
      ['attendance', 'attendance_p2027_02'],
      ['audit_logs', 'audit_logs_p2031_01'],
    ] as const) {
      const indexes = await sql<{ parent_index: string }>`
        SELECT i.inhparent::regclass::text AS parent_index
        FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indexrelid
        WHERE x.indrelid = ${partition}::regclass ORDER BY 1`.execute(db.db);
      const parentIndexes = await sql<{ name: string }>`
        SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = ${table}::regclass ORDER BY 1`.execute(
        db.db,
      );
      expect(indexes.rows.map((r) => r.parent_index)).toEqual(parentIndexes.rows.map((r) => r.name));
      const security = await sql<{ rls: boolean; forced: boolean; policies: number; fks: number }>`
        SELECT relrowsecurity AS rls, relforcerowsecurity AS forced,
               (SELECT count(*) FROM pg_policy WHERE polrelid = c.oid) AS policies,
               (SELECT count(*) FROM pg_constraint WHERE conrelid = c.oid AND contype = 'f') AS fks
        FROM pg_class c WHERE c.oid = ${partition}::regclass`.execute(db.db);
      expect(security.rows[0]).toMatchObject({ rls: true, forced: true, policies: 1 });
      expect(security.rows[0]!.fks).toBeGreaterThan(0);
    }
    const triggers = await sql<{ n: number }>`
      SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = 'attendance_p2027_02'::regclass AND tgname = 'attendance_touch'`.execute(
      db.db,
    );
    expect(triggers.rows[0]!.n).toBe(1);
    // The school_app role sees a new partition's rows only under their own tenant.
    const own = await withTenant(db.db, tenants[1]!, (trx) =>
      sql<{ n: number }>`SELECT count(*) AS n FROM audit_logs WHERE created_at >= '2031-01-01'`.execute(trx),
    );
    const other = await withTenant(db.db, tenants[0]!, (trx) =>
      sql<{ n: number }>`SELECT count(*) AS n FROM audit_logs WHERE created_at >= '2031-01-01'`.execute(trx),
    );
    expect(own.rows[0]!.n).toBe(3);
    expect(other.rows[0]!.n).toBe(0);
  });

  it('keeps audit months on legal hold, then retires only the months past every tenant retention', async () => {
    expect(await partitionsOf(db.db, 'audit_logs')).toContain('audit_logs_p2023_10');
    await sql`UPDATE tenants SET settings = '{"audit": {"legalHold": true}}' WHERE id = ${tenants[0]!}`.execute(
      db.db,
    );
    const rowsBefore = await countRows(db.db, 'audit_logs');
    const held = await rotate(db.db, { now: '2026-03-16T12:00:00Z' }).run;
    // Only empty months may go while a tenant is on hold (the seed's oldest month has no rows).
    expect(held.tables.audit_logs?.retired.every((r) => r.rows === 0)).toBe(true);
    expect(await countRows(db.db, 'audit_logs')).toBe(rowsBefore);
    expect(held.tables.audit_logs?.heldBack).toContain('audit_logs_p2023_10');
    await sql`UPDATE tenants SET settings = '{}' WHERE id = ${tenants[0]!}`.execute(db.db);

    const total = await countRows(db.db, 'audit_logs');
    // 730 days before 2026-03-16 is 2024-03-16: months ending on or before it go, March 2024 stays.
    const expired = await countRows(db.db, 'audit_logs', sql`created_at < '2024-03-01T00:00:00Z'`);
    expect(expired).toBeGreaterThan(0);
    const before = await partitionsOf(db.db, 'audit_logs');
    // Statistics counts allowed, but audit_logs months come with exact trigger-kept counts
    // (sql/0031), which win: nothing is estimated.
    await sql`ANALYZE audit_logs`.execute(db.db);
    const result = await rotate(db.db, {
      now: '2026-03-16T12:00:00Z',
      env: { AUDIT_EXACT_DROP_COUNTS: 'false' },
    }).run;
    const retired = result.tables.audit_logs!.retired;
    expect(retired.map((r) => r.name)).toEqual(
      before.filter((name) => /_p\d{4}_\d{2}$/.test(name) && name < 'audit_logs_p2024_03'),
    );
    expect(retired.reduce((sum, r) => sum + r.rows, 0)).toBe(expired);
    expect(retired.some((r) => r.estimated)).toBe(false);
    expect(await countRows(db.db, 'audit_logs')).toBe(total - expired);
    expect(await partitionsOf(db.db, 'audit_logs')).toContain('audit_logs_p2024_03');
    expect(result.tables.attendance?.retired).toEqual([]);
  });

  it('never drops attendance by default, even years later', async () => {
    const before = await partitionsOf(db.db, 'attendance');
    const rows = await countRows(db.db, 'attendance');
    const result = await rotate(db.db, { now: '2031-06-01T00:00:00Z' }).run;
    expect(result.tables.attendance?.retired).toEqual([]);
    const after = await partitionsOf(db.db, 'attendance');
    expect(after).toEqual(expect.arrayContaining(before));
    expect(await countRows(db.db, 'attendance')).toBe(rows);
  });
});

describe('partition rotation of a rescued month that is already past retention', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('creates the month for the stray rows, then retires it in the same run with its exact count', async () => {
    const tenant = await createTenant(db.db, 'stray');
    // Six years old: no partition exists, so the rows wait in the default partition.
    await insertAudit(db.db, tenant, '2020-05-03T00:00:00Z', '2020-05-04T00:00:00Z', 2);
    expect(await countRows(db.db, 'audit_logs_default')).toBe(2);
    const result = await rotate(db.db, { now: '2026-03-16T12:00:00Z' }).run;
    const audit = result.tables.audit_logs!;
    expect(audit.created).toContain('audit_logs_p2020_05');
    expect(audit.rowsMoved).toBe(2);
    // Retirement works from the set as ensureMonths left it (no second catalog query), which
    // must include the month it just created.
    expect(audit.retired).toEqual([{ name: 'audit_logs_p2020_05', rows: 2, rowsByTenant: { [tenant]: 2 } }]);
    expect(await partitionsOf(db.db, 'audit_logs')).not.toContain('audit_logs_p2020_05');
    expect(await countRows(db.db, 'audit_logs')).toBe(0);
  });
});
