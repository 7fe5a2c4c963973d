// The PostgreSQL pool and the Kysely instance over it.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './database-types.js';
import { InfraError } from './errors.js';
import type { Logger } from './logger.js';

export type Db = Kysely<Database>;

const { builtins } = pg.types;

// Per-pool type parsers instead of mutating pg's global ones: dates stay calendar strings (a
// JS Date would shift them by the process time zone), numeric stays a string (money never
// touches floating point), int8 (count(*), ids) becomes a number.
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === builtins.DATE) return (value: string) => value;
    if (oid === builtins.INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface DatabaseHandle {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(
  connectionString: string,
  options: { log: Logger; max?: number; applicationName?: string },
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    types: typeParsers,
    application_name: options.applicationName ?? 'school-engine',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection (server restart, pg_terminate_backend) must not crash
  // the process; the pool discards it and the next checkout connects afresh.
  pool.on('error', (error) => options.log.warn({ err: error }, 'idle PostgreSQL connection lost'));
  // A checked-out client losing its connection mid-query (pg_terminate_backend, failover) also
  // emits 'error' on the client itself; unhandled, that killed the worker process (found by
  // test/reliability). The query still rejects, so the job fails and is retried with backoff.
  pool.on('connect', (client) =>
    client.on('error', (error) =>
      options.log.warn({ err: { message: error.message } }, 'PostgreSQL connection lost mid-query'),
    ),
  );
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    db,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/** One round trip; throws InfraError with a human sentence when the server cannot be reached. */
export async function pingDatabase(db: Db, connectionString: string): Promise<void> {
  try {
    await sql`SELECT 1`.execute(db);
  } catch (error) {
    throw new InfraError(
      `cannot reach PostgreSQL at ${redactUrl(connectionString)}: ${describePgError(error)}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * For long-running roles: wait for PostgreSQL instead of exiting into a crash loop, logging one
 * clear line per attempt, with capped exponential backoff.
 */
export async function waitForDatabase(
  db: Db,
  connectionString: string,
  log: Logger,
  options: { signal?: AbortSignal; maxDelayMs?: number } = {},
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await pingDatabase(db, connectionString);
      if (attempt > 1) log.info({ attempt }, 'PostgreSQL is reachable again');
      return;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const delayMs = Math.min(500 * 2 ** (attempt - 1), options.maxDelayMs ?? 15_000);
      log.warn({ attempt, retryInMs: delayMs }, `${(error as Error).message}; retrying`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** Whether the connected role can see across tenants (superuser or BYPASSRLS), as maintenance needs. */
export async function assertMaintenanceRole(db: Db): Promise<void> {
  const { rows } = await sql<{ name: string; ok: boolean }>`
    SELECT current_user AS name, (rolsuper OR rolbypassrls) AS ok FROM pg_roles WHERE rolname = current_user
  `.execute(db);
  const role = rows[0];
  if (!role?.ok) {
    throw new InfraError(
      `the database role "${role?.name}" is neither superuser nor BYPASSRLS; maintenance jobs need one of these ` +
        `(ALTER ROLE ${role?.name} BYPASSRLS), and tenant-scoped work switches to school_app by itself`,
    );
  }
}

export function redactUrl(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export function describePgError(error: unknown): string {
  const err = error as { code?: string; message?: string; errors?: unknown[] };
  if (err?.code === 'ECONNREFUSED' || (err?.errors && err.errors.length > 0)) {
    return 'connection refused (is PostgreSQL running? set DATABASE_URL)';
  }
  if (err?.code === '3D000') return `${err.message} (create it, or run: npm run cli -- migrate)`;
  if (err?.code === '28P01' || err?.code === '28000')
    return `${err.message} (check the user and password in DATABASE_URL)`;
  if (err?.code === 'ENOTFOUND') return 'host not found (check the host in DATABASE_URL)';
  return err?.message ?? String(error);
}
