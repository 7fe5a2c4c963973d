// The engine's CLI commands, run as a user would (a child process), with the test job kinds.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Flags } from '../../cli/command.js';
import { jobInputFromFlags } from '../../cli/commands/job-flags.js';
import { jobRegistry } from '../../jobs/registry.js';
import { resolveJobSettings, unknownOverrides } from '../../workers/job-settings.js';
import { runCli } from '../helpers/cli.js';
import { testConfig } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { runFixtureCli } from './fixtures/spawn.js';
import { echoJob, sleepJob, testJobs } from './fixtures/test-jobs.js';

// In-process checks see the same registry the fixture CLI builds.
jobRegistry.push(...testJobs);

let database: TestDatabase;
const TENANT = '00000000-0000-4000-8000-0000000000c1';
beforeAll(async () => {
  database = await createTestDatabase();
  await database.db
    .insertInto('tenants')
    .values({ id: TENANT, slug: 'cli-school', name: 'CLI School', time_zone: 'Europe/London' })
    .execute();
});
afterAll(() => database?.drop());

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';
// No Redis is needed by `run`; a closed port proves it.
const noRedis = { REDIS_URL: 'redis://127.0.0.1:1' };

describe('engine cli', () => {
  it('runs a job in-process without Redis, prints its result and records the run', async () => {
    const result = await runFixtureCli(
      ['run', 'test-echo', '--tenant', TENANT, '--payload', '{"message":"now","email":"a@b.example"}'],
      { DATABASE_URL: database.url, ...noRedis },
    );
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({ kind: 'test-echo', result: { echoed: 'now', attempt: 1 } });
    const run = await database.db
      .selectFrom('job_runs')
      .selectAll()
      .where('job_id', '=', printed.jobId)
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ kind: 'test-echo', status: 'completed', tenant_id: TENANT });
    expect(run.payload).toMatchObject({ email: '[redacted]' });
  });

  it('refuses bad input with exit 2 and one line naming what is wrong', async () => {
    const env = { DATABASE_URL: database.url, ...noRedis };
    const cases: [string[], RegExp][] = [
      [['run', 'test-echo', '--payload', '{bad'], /^error: --payload: is not valid JSON/],
      [
        ['run', 'test-echo', '--tenant', 'school-1', '--payload', '{"message":"x"}'],
        /^error: --tenant: must be a UUID/,
      ],
      [
        ['run', 'test-echo', '--tenant', randomUUID(), '--payload', '{"message":"x"}'],
        /^error: --tenant: no tenant has id/,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => runFixtureCli(args, env)));
    results.forEach((result, index) => {
      const [args, message] = cases[index]!;
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(firstLine(result.stderr), args.join(' ')).toMatch(message);
      expect(result.stdout).toBe('');
    });
  });

  it('checks flags and payloads before opening anything (in-process, the remaining shapes)', () => {
    const cases: [Flags, string[], RegExp][] = [
      [{}, ['no-such-job'], /^kind: unknown job kind "no-such-job"; known kinds: (.+, )?test-echo, /],
      [{ payload: '[1]' }, ['test-echo'], /^--payload: must be a JSON object/],
      [{ payload: '{"message":5}' }, ['test-echo'], /^payload\.message: .*expected string/i],
      [{ payload: '{}' }, ['test-echo', 'extra'], /unexpected argument "extra"/],
      [{ from: '2026-02-30', payload: '{"message":"x"}' }, ['test-echo'], /^--from: is not a calendar date/],
      [{}, [], /^kind: name the job kind/],
    ];
    for (const [flags, positionals, message] of cases) {
      expect(() => jobInputFromFlags(flags, positionals)).toThrow(message);
    }
    const ok = jobInputFromFlags(
      { tenant: TENANT, from: '2026-03-01', full: true, payload: '{"message":"x"}' },
      ['test-echo'],
    );
    expect(ok.payload).toEqual({ message: 'x', tenantId: TENANT, from: '2026-03-01', full: true });
  });

  it('stops with the variable named for an invalid schedule override', async () => {
    const cron = await runFixtureCli(['schedule'], {
      JOB_TEST_NIGHTLY_SCHEDULE: '0 2 * *',
      DATABASE_URL: database.url,
    });
    expect(cron.code).toBe(1);
    expect(firstLine(cron.stderr)).toMatch(
      /^error: configuration JOB_TEST_NIGHTLY_SCHEDULE: must be a five-field cron/,
    );
    const typo = testConfig({ JOB_TEST_ECHOO_ATTEMPTS: '2', JOB_TEST_ECHO_ATTEMPTS: '2', JOB_ATTEMPTS: '4' });
    expect(unknownOverrides(testJobs, typo)).toEqual(['JOB_TEST_ECHOO_ATTEMPTS']);
    expect(resolveJobSettings(echoJob, typo).attempts).toBe(2);
    expect(resolveJobSettings(sleepJob, typo).attempts).toBe(4);
    expect(() => resolveJobSettings(echoJob, testConfig({ JOB_TEST_ECHO_CONCURRENCY: 'many' }))).toThrow(
      /^JOB_TEST_ECHO_CONCURRENCY: must be a whole number/,
    );
  });

  it('lists schedules with their next run, per tenant for per-tenant kinds', async () => {
    const result = await runFixtureCli(['schedule'], { DATABASE_URL: database.url });
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as { kind: string; tenantId?: string; nextRun: string }[];
    expect(rows.find((row) => row.kind === 'test-nightly')?.nextRun).toMatch(/T02:00:00\.000Z$/);
    expect(rows.filter((row) => row.kind === 'test-local').map((row) => row.tenantId)).toEqual([TENANT]);
    expect(result.stderr).toMatch(/test-local .*0 7 \* \* \*.*Europe\/London.*CLI School/);
  });

  it('the shipped CLI names the registered kinds when given an unknown one', async () => {
    const result = await runCli(['run', 'attendance-rolup'], { DATABASE_URL: database.url });
    expect(result.code).toBe(2);
    expect(firstLine(result.stderr)).toMatch(
      /unknown job kind "attendance-rolup"; known kinds: .*attendance-rollup/,
    );
  });
});
