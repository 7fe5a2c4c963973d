import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { openDatabase } from '../../core/connect.js';
import { silentLogger } from '../../core/logger.js';
import { migrateToLatest } from '../../core/migrate.js';

let parent: string | undefined;
afterAll(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

describe('embedded PostgreSQL fallback', () => {
  it('starts a real embedded server when DATABASE_URL is unset and nothing answers, and migrates it', async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'embedded-pg-'));
    // The server runs as the postgres system user, which must be able to reach its data directory.
    await chmod(parent, 0o755);
    const config = {
      ...loadConfig({}),
      // The default address, pointed at a port where nothing listens.
      databaseUrl: 'postgres://postgres@127.0.0.1:1/school_engine',
      databaseUrlDefaulted: true,
    };
    const database = await openDatabase(config, {
      log: silentLogger,
      embedded: { dataDir: path.join(parent, 'data'), port: 54391 },
    });
    try {
      expect(database.embedded).toBe(true);
      expect(database.url).toContain(':54391/school_engine');
      const outcome = await migrateToLatest(database.db);
      expect(outcome.applied.length).toBeGreaterThanOrEqual(9);
      const { rows } = await sql<{ version: string }>`SELECT version()`.execute(database.db);
      expect(rows[0]!.version).toMatch(/^PostgreSQL \d+/);
    } finally {
      await database.close();
    }
  });

  it('does not fall back when DATABASE_URL was given: an unreachable server is an error', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/school_engine' });
    await expect(openDatabase(config, { log: silentLogger })).rejects.toThrow(/cannot reach PostgreSQL/);
  });
});
