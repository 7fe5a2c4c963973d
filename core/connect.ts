// Opening the school database the way every role does: the configured URL, or the local default,
// or (only when DATABASE_URL is unset and nothing answers) the embedded PostgreSQL.
import pg from 'pg';
import type { Config } from './config.js';
import { createDatabase, type DatabaseHandle, describePgError, pingDatabase, redactUrl } from './db.js';
import { type EmbeddedOptions, startEmbeddedPostgres } from './embedded-postgres.js';
import { InfraError } from './errors.js';
import type { Logger } from './logger.js';

export interface OpenOptions {
  log: Logger;
  /** Create the database when the server answers but the database does not exist (migrate, demo). */
  createIfMissing?: boolean;
  poolSize?: number;
  applicationName?: string;
  /** Where the embedded fallback keeps its data and listens (tests use their own). */
  embedded?: EmbeddedOptions;
}

export interface OpenedDatabase extends DatabaseHandle {
  url: string;
  embedded: boolean;
}

export async function openDatabase(config: Config, options: OpenOptions): Promise<OpenedDatabase> {
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  const probe = await probeServer(url);
  if (probe === 'refused' && config.databaseUrlDefaulted) {
    const embedded = await startEmbeddedPostgres(
      options.log,
      new URL(url).pathname.slice(1) || 'school_engine',
      options.embedded,
    );
    url = embedded.url;
    stopEmbedded = embedded.stop;
  } else if (probe === 'missing-database') {
    if (!options.createIfMissing) {
      throw new InfraError(
        `database ${databaseName(url)} does not exist at ${redactUrl(url)}; run: npm run cli -- migrate`,
      );
    }
    await createDatabaseOnServer(url, options.log);
  }
  const handle = createDatabase(url, {
    log: options.log,
    max: options.poolSize,
    applicationName: options.applicationName,
  });
  try {
    await pingDatabase(handle.db, url);
  } catch (error) {
    await handle.close();
    await stopEmbedded?.();
    throw error;
  }
  return {
    ...handle,
    url,
    embedded: stopEmbedded !== undefined,
    async close() {
      await handle.close();
      await stopEmbedded?.();
    },
  };
}

type Probe = 'ok' | 'refused' | 'missing-database' | 'other';

async function probeServer(url: string): Promise<Probe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return 'ok';
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '3D000') return 'missing-database';
    if (code === 'ECONNREFUSED' || (error as { errors?: unknown[] }).errors) return 'refused';
    return 'other';
  } finally {
    await client.end().catch(() => {});
  }
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

async function createDatabaseOnServer(url: string, log: Logger): Promise<void> {
  const name = databaseName(url);
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString() });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    log.info({ database: name }, 'created database');
  } catch (error) {
    // A concurrent `migrate` may have created it first.
    if ((error as { code?: string }).code !== '42P04') {
      throw new InfraError(`cannot create database ${name}: ${describePgError(error)}`, { cause: error });
    }
  } finally {
    await client.end().catch(() => {});
  }
}
