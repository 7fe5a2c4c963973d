import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../../core/db.js';
import { silentLogger } from '../../core/logger.js';
import { assertSchemaCurrent, migrateToLatest } from '../../core/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

async function tableCount(db: TestDatabase['db']): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')`.execute(db);
  return rows[0]!.n;
}

describe('migrations', () => {
  it('apply on an empty database, then re-apply as a no-op', async () => {
    database = await createTestDatabase({ migrated: false });
    const first = await migrateToLatest(database.db);
    expect(first.applied[0]).toBe('0001_roles_and_helpers');
    expect(first.applied.length).toBeGreaterThanOrEqual(9);
    const tables = await tableCount(database.db);
    expect(tables).toBeGreaterThan(20);

    const second = await migrateToLatest(database.db);
    expect(second).toEqual({ applied: [], alreadyCurrent: true });
    expect(await tableCount(database.db)).toBe(tables);
    await expect(assertSchemaCurrent(database.db)).resolves.toBeUndefined();
  });

  it('two concurrent migrate calls apply each migration exactly once', async () => {
    database = await createTestDatabase({ migrated: false });
    // Two independent pools: two sessions racing on the same empty database.
    const a = createDatabase(database.url, { log: silentLogger, max: 2 });
    const b = createDatabase(database.url, { log: silentLogger, max: 2 });
    try {
      const [ra, rb] = await Promise.all([migrateToLatest(a.db), migrateToLatest(b.db)]);
      const all = [...ra.applied, ...rb.applied];
      expect(new Set(all).size).toBe(all.length);
      expect(ra.applied.length === 0 || rb.applied.length === 0).toBe(true);
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM kysely_migration`.execute(
        database.db,
      );
      expect(rows[0]!.n).toBe(all.length);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses a database with pending migrations or with migrations newer than the code', async () => {
    database = await createTestDatabase({ migrated: false });
    await expect(assertSchemaCurrent(database.db)).rejects.toThrow(
      /missing migrations .*run: npm run cli -- migrate/,
    );
    await migrateToLatest(database.db);
    await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_from_the_future', now()::text)`.execute(
      database.db,
    );
    await expect(assertSchemaCurrent(database.db)).rejects.toThrow(/newer than the code/);
    await expect(migrateToLatest(database.db)).rejects.toThrow(/migrated by another version of this code/);
  });
});
