import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
});
afterAll(() => database.drop());

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';

describe('cli', () => {
  it('migrates, seeds and checks a fresh database, printing JSON results', async () => {
    const env = { DATABASE_URL: database.url };
    const migrate = await runCli(['migrate'], env);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(JSON.parse(migrate.stdout).applied).toContain('0001_roles_and_helpers');

    const seed = await runCli(
      ['seed', '--tenants', '2', '--students', '20', '--days', '5', '--today', '2026-03-16'],
      env,
    );
    expect(seed.code, seed.stderr).toBe(0);
    const summary = JSON.parse(seed.stdout);
    expect(summary.tenants).toHaveLength(2);
    expect(summary.rows.attendance).toBe(2 * 20 * 5);

    const check = await runCli(['check'], env);
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ postgres: 'ok', redis: 'ok' });
  });

  it('prints usage and exits 2 for an unknown command or flag', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    expect(unknown.stderr).toMatch(/usage: npm run cli/);

    const flag = await runCli(['seed', '--bogus', '1']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--bogus/);
    expect(flag.stderr).toMatch(/usage: npm run cli -- seed/);
  });

  it('rejects zero or negative sizes before touching the database', async () => {
    for (const args of [['--students', '0'], ['--tenants=-2'], ['--days', 'ten']]) {
      const result = await runCli(['seed', ...args], {
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      });
      expect(result.code, args.join(' ')).toBe(2);
      expect(firstLine(result.stderr)).toMatch(/^error: --(students|tenants|days): must be a whole number/);
    }
  });

  it('gives one clear line for a malformed DATABASE_URL, an unreachable database and a missing Redis', async () => {
    const malformed = await runCli(['migrate'], { DATABASE_URL: 'not a url' });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr.trim()).toMatch(
      /^error: configuration DATABASE_URL: must be a URL like postgres:\/\//,
    );
    expect(malformed.stderr.trim().split('\n')).toHaveLength(1);

    const unreachable = await runCli(['migrate'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/school' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim()).toMatch(
      /^error: cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/school: connection refused/,
    );
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);

    const noRedis = await runCli(['check'], { DATABASE_URL: database.url, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr.trim()).toMatch(
      /error: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*redis-server/,
    );
  });
});
