// Migrations are the numbered .sql files in sql/, applied in name order by Kysely's Migrator,
// which records them in kysely_migration and runs them in one transaction under its own lock.
// An extra session-level advisory lock around the whole run also serialises the creation of
// that bookkeeping table, so two `migrate` processes started together are safe.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Migration, type MigrationProvider, type MigrationResult, Migrator, sql } from 'kysely';
import type { Db } from './db.js';
import { InfraError } from './errors.js';

export const SQL_DIR = fileURLToPath(new URL('../sql/', import.meta.url));

// Arbitrary, fixed: "school migrate" in ASCII.
const MIGRATION_LOCK_KEY = 7_365_637_686_712;

class SqlFileProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file)).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(path.join(this.dir, file), 'utf8');
      // No parameters, so pg sends the file with the simple query protocol: several statements
      // in one round trip, inside the Migrator's transaction.
      migrations[file.replace(/\.sql$/, '')] = { up: async (db) => void (await sql.raw(text).execute(db)) };
    }
    return migrations;
  }
}

function migrator(db: Db, dir = SQL_DIR): Migrator {
  return new Migrator({ db, provider: new SqlFileProvider(dir) });
}

export interface MigrateOutcome {
  applied: string[];
  alreadyCurrent: boolean;
}

export async function migrateToLatest(db: Db, dir = SQL_DIR): Promise<MigrateOutcome> {
  // The Migrator runs on the locked connection itself, so it needs no second pooled connection.
  return db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
    try {
      const { error, results } = await migrator(conn, dir).migrateToLatest();
      if (error) throw describeMigrationError(error, results);
      const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      return { applied, alreadyCurrent: applied.length === 0 };
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
    }
  });
}

/**
 * Refuse to run against a database this code does not fully understand: either migrations are
 * pending (run `migrate`), or the database has migrations this code does not know (it is newer
 * than the code: deploy the newer code instead of letting old code write to it).
 */
export async function assertSchemaCurrent(db: Db, dir = SQL_DIR): Promise<void> {
  const known = await migrator(db, dir).getMigrations();
  const codeNames = new Set(known.map((m) => m.name));
  const executed = await executedMigrationNames(db);
  const newer = executed.filter((name) => !codeNames.has(name));
  if (newer.length > 0) {
    throw new InfraError(
      `the database has migrations this code does not know (${newer.join(', ')}); it is newer than the code, ` +
        'so deploy the matching version instead of running this one',
    );
  }
  const pending = known.filter((m) => !m.executedAt).map((m) => m.name);
  if (pending.length > 0) {
    throw new InfraError(
      `the database is missing migrations (${pending.join(', ')}); run: npm run cli -- migrate`,
    );
  }
}

async function executedMigrationNames(db: Db): Promise<string[]> {
  const exists = await sql<{
    present: boolean;
  }>`SELECT to_regclass('kysely_migration') IS NOT NULL AS present`.execute(db);
  if (!exists.rows[0]?.present) return [];
  const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
  return rows.map((r) => r.name);
}

function describeMigrationError(error: unknown, results: MigrationResult[] | undefined): Error {
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  const message = (error as Error)?.message ?? String(error);
  if (/corrupted migrations/i.test(message)) {
    return new InfraError(
      `${message}; the database was migrated by another version of this code (deploy that version, or rebuild a development database with a fresh DATABASE_URL)`,
      {
        cause: error,
      },
    );
  }
  return new InfraError(failed ? `migration ${failed} failed: ${message}` : `migration failed: ${message}`, {
    cause: error,
  });
}
