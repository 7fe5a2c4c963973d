// Shared plumbing for benchmarks: a fresh database per benchmark, timing, and one JSON line of
// results (the README's figures are copied from these lines).
import pg from 'pg';
import { createDatabase, type DatabaseHandle } from '../core/db.js';
import { silentLogger } from '../core/logger.js';
import { migrateToLatest } from '../core/migrate.js';

const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function benchDatabaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drop and recreate `bench_<name>`, migrated. */
export async function freshBenchDatabase(
  name: string,
  poolSize = 4,
): Promise<DatabaseHandle & { url: string }> {
  const database = `bench_${name}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const url = benchDatabaseUrl(database);
  const handle = createDatabase(url, { log: silentLogger, max: poolSize, applicationName: `bench ${name}` });
  await migrateToLatest(handle.db);
  return { ...handle, url };
}

export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

export function report(name: string, figures: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ bench: name, at: new Date().toISOString(), ...figures })}\n`);
}

export const round = (value: number, digits = 2) => Number(value.toFixed(digits));
