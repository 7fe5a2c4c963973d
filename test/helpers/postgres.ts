// Real PostgreSQL for tests. Migrations are applied once per run into a template database named
// after a hash of sql/, and every test file clones its own database from it (CREATE DATABASE ...
// TEMPLATE takes well under a second), so files never see each other's rows.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createDatabase, type DatabaseHandle } from '../../core/db.js';
import { silentLogger } from '../../core/logger.js';
import { migrateToLatest, SQL_DIR } from '../../core/migrate.js';

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export function templateName(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(SQL_DIR).sort())
    hash.update(file).update(readFileSync(path.join(SQL_DIR, file)));
  return `school_test_tpl_${hash.digest('hex').slice(0, 12)}`;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Build the template once (under a lock: several runs may start together). */
export async function ensureTemplate(): Promise<string> {
  const name = templateName();
  await withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock(4242001)');
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount) return;
      const building = `${name}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${building}`);
      const handle = createDatabase(databaseUrl(building), { log: silentLogger, max: 1 });
      try {
        await migrateToLatest(handle.db);
      } finally {
        await handle.close();
      }
      // Renamed only when complete, so a half-migrated template is never cloned.
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock(4242001)');
    }
  });
  return name;
}

/** Drop test databases left behind by runs that crashed more than six hours ago. */
export async function dropStaleTestDatabases(): Promise<void> {
  const cutoff = Math.floor(Date.now() / 1000) - 6 * 3600;
  await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname ~ '^t_[0-9]+_'",
    );
    for (const { datname } of rows) {
      if (Number(datname.split('_')[1]) < cutoff)
        await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
  });
}

export interface TestDatabase extends DatabaseHandle {
  name: string;
  url: string;
  /** Close the pool (failing if a client was leaked) and drop the database. */
  drop(): Promise<void>;
}

export async function createTestDatabase(
  options: { migrated?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  const name = `t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const template = options.migrated === false ? 'template1' : templateName();
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = databaseUrl(name);
  const handle = createDatabase(url, {
    log: silentLogger,
    max: options.poolSize ?? 5,
    applicationName: `test ${name}`,
  });
  return {
    ...handle,
    name,
    url,
    async drop() {
      const busy = handle.pool.totalCount - handle.pool.idleCount;
      await handle.close();
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      if (busy > 0) throw new Error(`test leaked ${busy} PostgreSQL client(s) still checked out of the pool`);
    },
  };
}
