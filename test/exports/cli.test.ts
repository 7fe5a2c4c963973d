// The CLI as an admin's script would use it: export to a file, mint an API token, and exit 2
// naming the flag on bad input. (Each run starts a process, so this file keeps to three; the
// same paths are covered in-process by flow.test.ts and api.test.ts.)
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyToken } from '../../core/signing.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { type ExportFixture, parseCsv, SECRET, setUpExportData } from './helpers.js';

let database: TestDatabase;
let fx: ExportFixture;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  fx = await setUpExportData(database);
  env = { ...fx.env, DATABASE_URL: database.url };
});
afterAll(() => database.drop());

it('export runs in-process, records the export and copies the file to --out', async () => {
  const out = path.join(await mkdtemp(path.join(tmpdir(), 'cli-export-')), 'attendance.csv');
  const result = await runCli(
    [
      'export',
      '--tenant',
      fx.tenantA,
      '--template',
      'attendance-report',
      '--format',
      'csv',
      '--from',
      '2026-03-01',
      '--to',
      '2026-03-16',
      '--status',
      'absent',
      '--out',
      out,
    ],
    env,
  );
  expect(result.stderr).toContain('done:');
  expect(result.code).toBe(0);
  const printed = JSON.parse(result.stdout) as { status: string; rows: number; exportId: string };
  expect(printed.status).toBe('completed');
  const rows = parseCsv((await readFile(out, 'utf8')).slice(1));
  expect(rows.length - 1).toBe(printed.rows);
  expect(new Set(rows.slice(1).map((r) => r[5]))).toEqual(new Set(['absent']));
  const { rows: recorded } = await sql<{ status: string }>`
    SELECT status FROM exports WHERE id = ${printed.exportId}`.execute(database.db);
  expect(recorded[0]!.status).toBe('completed');
});

it('bad input exits 2 naming the problem and records nothing', async () => {
  const before = await sql<{ n: number }>`SELECT count(*) AS n FROM exports`.execute(database.db);
  const wrongDate = await runCli(
    [
      'export',
      '--tenant',
      fx.tenantA,
      '--template',
      'attendance-report',
      '--format',
      'csv',
      '--from',
      '2026-13-01',
    ],
    env,
  );
  expect(wrongDate.code).toBe(2);
  expect(wrongDate.stderr).toContain('--from');
  const after = await sql<{ n: number }>`SELECT count(*) AS n FROM exports`.execute(database.db);
  expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
});

it('api-token mints a token for an admin', async () => {
  const { rows } = await sql<{ id: string; role: string }>`
    SELECT DISTINCT ON (role) id, role FROM users WHERE tenant_id = ${fx.tenantA} AND role = 'admin'
    ORDER BY role, email`.execute(database.db);
  const admin = rows.find((r) => r.role === 'admin')!.id;
  const ok = await runCli(['api-token', '--tenant', fx.tenantA, '--user', admin, '--hours', '2'], env);
  expect(ok.code).toBe(0);
  const { token } = JSON.parse(ok.stdout) as { token: string };
  expect(verifyToken(SECRET, token, 'api', new Date())).toMatchObject({
    tenantId: fx.tenantA,
    userId: admin,
  });
});
