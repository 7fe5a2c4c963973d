// Bad input corpus (issue 9, item 5): malformed input through the CLI, the HTTP surface and raw
// queue payloads (bypassing the enqueuer's validation, as an old producer or a hand-edited job
// would). Each case must give a clear error or 4xx naming the problem; the worker process keeps
// running; nothing is written half-way (no side effect of a refused job). Table-driven; the
// count of cases handled cleanly goes into the README's figures.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { createRedis, type Redis } from '../../core/redis.js';
import { type RunningDashboard, startDashboard } from '../../dashboard/server.js';
import { createEnqueuer, type Enqueuer } from '../../workers/queues.js';
import { dropPrefix, testPrefix } from '../engine/fixtures/engine.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { testConfig } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createEffectsTable, effectOf, reliabilityJobs } from './fixtures/effect-jobs.js';
import { recordFigure } from './fixtures/figures.js';
import { type Proc, startWorker, until } from './fixtures/processes.js';
import { rawHttp } from './fixtures/raw-http.js';

const TEN_MB = 'x'.repeat(10 * 1024 * 1024);
const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};
const FOREIGN_TENANT = '7c0e8f2a-1111-4222-8333-444455556666';
const PASSWORD = 'reliability-dashboard-pw-1';

let database: TestDatabase;
let redis: Redis;
let config: Config;
let enqueuer: Enqueuer;
let worker: Proc;
let dashboard: RunningDashboard;
const tally = { cli: [0, 0], http: [0, 0], queue: [0, 0] } as Record<string, [number, number]>;

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 3 });
  await createEffectsTable(database.db);
  config = testConfig({
    QUEUE_PREFIX: testPrefix(),
    DASHBOARD_USER: 'operator',
    DASHBOARD_PASSWORD: PASSWORD,
    DATABASE_URL: database.url,
  });
  redis = createRedis(config.REDIS_URL, silentLogger, 'bad-input-test');
  enqueuer = createEnqueuer(redis, config, { jobs: reliabilityJobs });
  worker = startWorker({ DATABASE_URL: database.url, QUEUE_PREFIX: config.QUEUE_PREFIX });
  dashboard = await startDashboard({
    db: database.db,
    redis,
    config: { ...config, PORT: 0 },
    clock: systemClock,
    log: silentLogger,
    enqueue: enqueuer.enqueue,
    jobs: reliabilityJobs,
  });
  await worker.waitFor(/worker ready/);
});

afterAll(async () => {
  await dashboard?.close();
  await worker?.kill('SIGKILL');
  await enqueuer?.close();
  if (config)
    await dropPrefix(
      redis,
      config.QUEUE_PREFIX,
      reliabilityJobs.map((job) => job.name),
    );
  redis?.disconnect();
  await database?.drop();
  const total = Object.values(tally).reduce((sum, [tried]) => sum + tried, 0);
  const handled = Object.values(tally).reduce((sum, [, ok]) => sum + ok, 0);
  recordFigure('bad-input', {
    tried: total,
    handledCleanly: handled,
    ...Object.fromEntries(Object.entries(tally).map(([surface, [tried, ok]]) => [surface, `${ok}/${tried}`])),
  });
});

function count(surface: string, ok: boolean): void {
  tally[surface]![0]++;
  if (ok) tally[surface]![1]++;
}

async function effectRows(): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM rel_effects`.execute(database.db);
  return rows[0]!.n;
}

// ---------------------------------------------------------------------------------------------
// CLI: [name, args, extra env, expected exit code, what stderr must say]
type CliCase = [string, string[], Record<string, string>, number, RegExp];
const cliCases: CliCase[] = [
  ['unknown command', ['frobnicate'], {}, 2, /unknown command "frobnicate"/],
  ['unknown flag', ['worker', '--concurrency', '5'], {}, 2, /Unknown option '--concurrency'/],
  ['run without a kind', ['run'], {}, 2, /kind: name the job kind/],
  ['unknown job kind', ['run', 'no-such-kind'], {}, 2, /unknown job kind "no-such-kind"/],
  ['tenant not a UUID', ['run', 'rel-effect', '--tenant', 'school-1'], {}, 2, /--tenant/],
  ['tenant with SQL metacharacters', ['run', 'rel-effect', '--tenant', "' OR 1=1; --"], {}, 2, /--tenant/],
  ['tenant with CR/LF', ['run', 'rel-effect', '--tenant', 'a\r\nb'], {}, 2, /--tenant/],
  ['foreign tenant id', ['enqueue', 'rel-effect', '--tenant', FOREIGN_TENANT], {}, 2, /--tenant|tenantId/],
  [
    'date not a calendar day',
    ['run', 'rel-effect', '--from', '2026-02-30'],
    {},
    2,
    /--from: is not a calendar date/,
  ],
  [
    'date in the wrong format',
    ['run', 'rel-effect', '--to', '16/03/2026'],
    {},
    2,
    /--to: must be a date as YYYY-MM-DD/,
  ],
  [
    'payload not JSON',
    ['run', 'rel-effect', '--payload', '{sleepMs: 1'],
    {},
    2,
    /--payload: is not valid JSON/,
  ],
  [
    'payload an array',
    ['run', 'rel-effect', '--payload', '[1,2]'],
    {},
    2,
    /--payload: must be a JSON object/,
  ],
  ['payload wrong type', ['run', 'rel-effect', '--payload', '{"sleepMs":"soon"}'], {}, 2, /payload\.sleepMs/],
  ['payload negative', ['run', 'rel-effect', '--payload', '{"sleepMs":-5}'], {}, 2, /payload\.sleepMs/],
  ['payload huge number', ['run', 'rel-effect', '--payload', '{"sleepMs":1e308}'], {}, 2, /payload\.sleepMs/],
  ['payload unknown field', ['run', 'rel-effect', '--payload', '{"sleepMz":1}'], {}, 2, /sleepMz/],
  [
    'payload __proto__ key',
    ['run', 'rel-effect', '--payload', '{"__proto__":{"admin":true}}'],
    {},
    2,
    /__proto__/,
  ],
  [
    'payload deeply nested',
    ['run', 'rel-effect', '--payload', JSON.stringify(nested(2000))],
    {},
    2,
    /payload/,
  ],
  ['payload missing required field', ['run', 'rel-pg-slow'], {}, 2, /payload\.seconds/],
  [
    'inverted date range on a kind without dates',
    ['run', 'rel-effect', '--from', '2026-03-20', '--to', '2026-03-01'],
    {},
    2,
    /payload/,
  ],
  ['negative delay', ['enqueue', 'rel-effect', '--delay-ms', '-1'], {}, 2, /--delay-ms/],
  ['job id with a colon', ['enqueue', 'rel-effect', '--job-id', 'a:b'], {}, 2, /jobId/],
  ['bad QUEUE_PREFIX', ['schedule'], { QUEUE_PREFIX: 'a b' }, 1, /QUEUE_PREFIX/],
  ['bad REDIS_URL', ['schedule'], { REDIS_URL: 'http://localhost' }, 1, /REDIS_URL/],
  [
    'invalid cron override',
    ['schedule'],
    { JOB_REL_HOURLY_SCHEDULE: '99 * * * *' },
    1,
    /JOB_REL_HOURLY_SCHEDULE/,
  ],
  [
    'cron override with 6 fields',
    ['schedule'],
    { JOB_REL_NIGHTLY_SCHEDULE: '0 0 2 * * *' },
    1,
    /JOB_REL_NIGHTLY_SCHEDULE/,
  ],
  [
    'bad per-kind concurrency',
    ['worker'],
    { JOB_REL_EFFECT_CONCURRENCY: 'many' },
    1,
    /JOB_REL_EFFECT_CONCURRENCY/,
  ],
  ['short dashboard password', ['schedule'], { DASHBOARD_PASSWORD: 'short' }, 1, /DASHBOARD_PASSWORD/],
];

/** Every case through the real main() of the CLI, in one child process (fixtures/cli-batch.ts). */
async function batchCli(cases: CliCase[]): Promise<{ code: number; output: string }[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/reliability/fixtures/cli-batch.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        DATABASE_URL: database.url,
        QUEUE_PREFIX: config.QUEUE_PREFIX,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(JSON.stringify(cases.map(([, args, env]) => ({ args, env }))));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`cli batch exited ${code}: ${stderr.slice(-2000)}`);
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('bad input corpus', () => {
  it(`CLI: ${cliCases.length + 3} malformed commands exit non-zero with a message naming the problem, writing nothing`, {
    timeout: 170_000,
  }, async () => {
    const before = await effectRows();
    const failures: string[] = [];
    const results = await batchCli(cliCases);
    for (const [index, [name, , , code, message]] of cliCases.entries()) {
      const result = results[index]!;
      const ok = result.code === code && message.test(result.output) && !/\n\s+at /.test(result.output);
      count('cli', ok);
      if (!ok) failures.push(`${name}: exit ${result.code}\n${result.output.slice(0, 600)}`);
    }
    // And a few through the shipped CLI as its own process, exactly as a user types them.
    const real: [string[], RegExp][] = [
      [['run', 'rel-effect'], /unknown job kind "rel-effect"/],
      [['enqueue', 'no-such-kind', '--tenant', 'x'], /--tenant|unknown job kind/],
      [['migrate', '--to', '0099'], /Unknown option '--to'/],
    ];
    await Promise.all(
      real.map(async ([args, message]) => {
        const result = await runCli(args, { DATABASE_URL: database.url, QUEUE_PREFIX: config.QUEUE_PREFIX });
        const ok = result.code === 2 && message.test(result.stderr);
        count('cli', ok);
        if (!ok) failures.push(`${args.join(' ')}: exit ${result.code} ${result.stderr.slice(0, 300)}`);
      }),
    );
    expect(failures).toEqual([]);
    expect(await effectRows()).toBe(before);
  });

  it('raw queue payloads: each fails at once, unretried, naming the field; nothing written; the worker keeps running', {
    timeout: 120_000,
  }, async () => {
    type QueueCase = [string, string, unknown, RegExp];
    const cases: QueueCase[] = [
      ['wrong type', 'rel-effect', { sleepMs: 'soon' }, /payload\.sleepMs/],
      ['null field', 'rel-effect', { sleepMs: null }, /payload\.sleepMs/],
      ['fraction', 'rel-effect', { sleepMs: 1.5 }, /payload\.sleepMs/],
      ['10 MB string', 'rel-effect', { sleepMs: TEN_MB }, /payload\.sleepMs/],
      ['unknown field', 'rel-effect', { sleepMs: 1, tenantId: FOREIGN_TENANT }, /tenantId/],
      ['array instead of object', 'rel-effect', [1, 2, 3], /payload/],
      ['string instead of object', 'rel-effect', 'sleepMs=1', /payload/],
      ['number instead of object', 'rel-effect', 42, /payload/],
      ['deeply nested object', 'rel-effect', { sleepMs: nested(1000) }, /payload\.sleepMs/],
      ['lone UTF-16 surrogate (invalid UTF-8)', 'rel-effect', { sleepMs: '\ud800' }, /payload\.sleepMs/],
      ['SQL metacharacters', 'rel-effect', { sleepMs: '1; DROP TABLE rel_effects; --' }, /payload\.sleepMs/],
      ['CR/LF in a value', 'rel-effect', { sleepMs: '1\r\nX-Injected: yes' }, /payload\.sleepMs/],
      ['formula prefix', 'rel-effect', { sleepMs: '=HYPERLINK("http://evil")' }, /payload\.sleepMs/],
      ['missing required field', 'rel-pg-slow', {}, /payload\.seconds/],
      ['out of range', 'rel-pg-slow', { seconds: 1e308 }, /payload\.seconds/],
      ['negative', 'rel-pg-slow', { seconds: -1 }, /payload\.seconds/],
    ];
    const queues = new Map<string, Queue>();
    const queue = (kind: string) => {
      let found = queues.get(kind);
      if (!found) {
        found = new Queue(kind, { connection: redis, prefix: config.QUEUE_PREFIX });
        queues.set(kind, found);
      }
      return found;
    };
    const added = [];
    for (const [name, kind, data] of cases) {
      // attempts: 5 with a short backoff: a retried bad payload would show attemptsMade > 1.
      const job = await queue(kind).add(kind, data as object, {
        attempts: 5,
        backoff: { type: 'fixed', delay: 10 },
      });
      added.push({ name, kind, id: job.id! });
    }
    const failures: string[] = [];
    for (const [index, [name, kind, , message]] of cases.entries()) {
      const { id } = added[index]!;
      const job = await until(
        async () => {
          // State first, then the job: a job read before it failed would show no failure yet.
          const state = await queue(kind).getJobState(id);
          return state === 'failed' ? queue(kind).getJob(id) : undefined;
        },
        `bad job ${name} to fail`,
        30_000,
      ).catch(() => undefined);
      const effect = await effectOf(database.db, kind, id);
      const ok =
        !!job &&
        job.attemptsMade === 1 &&
        message.test(job.failedReason) &&
        job.failedReason.length < 500 &&
        !effect;
      count('queue', ok);
      if (!ok)
        failures.push(
          `${name}: ${job ? `${job.attemptsMade} attempts, ${job.failedReason?.slice(0, 200)}` : 'did not fail'}${effect ? ', wrote an effect' : ''}`,
        );
    }
    // The worker process survived all of it and still does good work.
    expect(worker.running()).toBe(true);
    const good = await enqueuer.enqueue('rel-effect', {});
    expect(
      await until(() => effectOf(database.db, 'rel-effect', good), 'a good job after the bad ones'),
    ).toMatchObject({ runs: 1 });
    for (const q of queues.values()) await q.close();
    expect(failures).toEqual([]);
  });

  it('HTTP: malformed requests to the dashboard get a 4xx without internals, and it keeps serving', async () => {
    const url = dashboard.url;
    const auth = `Basic ${Buffer.from(`operator:${PASSWORD}`).toString('base64')}`;
    type HttpCase = [string, () => Promise<{ status: number; text: string }>, number[], RegExp?];
    const viaFetch = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${url}${path}`, init);
      return { status: response.status, text: await response.text() };
    };
    const cases: HttpCase[] = [
      ['no credentials', () => viaFetch('/admin/queues'), [401]],
      [
        'Basic header not base64',
        () => viaFetch('/admin/queues', { headers: { authorization: 'Basic %%%not-base64%%%' } }),
        [401],
      ],
      [
        'Basic without a colon',
        () =>
          viaFetch('/admin/queues', {
            headers: { authorization: `Basic ${Buffer.from('operator').toString('base64')}` },
          }),
        [401],
      ],
      [
        'Bearer instead of Basic',
        () => viaFetch('/admin/queues', { headers: { authorization: 'Bearer abc' } }),
        [401],
      ],
      [
        'password with SQL metacharacters',
        () =>
          viaFetch('/admin/queues', {
            headers: { authorization: `Basic ${Buffer.from("operator:' OR '1'='1").toString('base64')}` },
          }),
        [401],
      ],
      ['unknown path', () => viaFetch('/admin/../../etc/passwd'), [404], /no such page/],
      [
        'cross-origin retry',
        () =>
          viaFetch('/admin/queues/api/queues/rel-effect/retry/failed', {
            method: 'PUT',
            headers: { authorization: auth, origin: 'https://evil.example' },
          }),
        [403],
      ],
      [
        'unknown queue',
        () =>
          viaFetch('/admin/queues/api/queues/no-such-queue/retry/failed', {
            method: 'PUT',
            headers: { authorization: auth, origin: url },
          }),
        [404, 400],
      ],
      [
        'invalid UTF-8 in the path',
        () =>
          rawHttp(
            url,
            `GET /admin/queues/api/queues/%ff%fe HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`,
          ),
        [400, 404],
      ],
      [
        'CR in a header value',
        () =>
          rawHttp(
            url,
            `GET /admin/queues HTTP/1.1\r\nHost: x\r\nAuthorization: Basic a\rb\r\nConnection: close\r\n\r\n`,
          ),
        [400],
      ],
      [
        'oversized headers (64 KB)',
        () =>
          rawHttp(
            url,
            `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(64 * 1024)}\r\nConnection: close\r\n\r\n`,
          ),
        [431, 400],
      ],
      [
        'malformed JSON body',
        () =>
          viaFetch('/admin/queues/api/queues/rel-effect/add', {
            method: 'POST',
            headers: { authorization: auth, origin: url, 'content-type': 'application/json' },
            body: '{"name":',
          }),
        [400, 404],
      ],
      [
        '10 MB JSON body',
        () =>
          viaFetch('/admin/queues/api/queues/rel-effect/add', {
            method: 'POST',
            headers: { authorization: auth, origin: url, 'content-type': 'application/json' },
            body: JSON.stringify({ data: TEN_MB }),
          }),
        [413, 400, 404],
      ],
      ['request line garbage', () => rawHttp(url, 'NOT-HTTP\r\n\r\n'), [400]],
    ];
    const failures: string[] = [];
    for (const [name, send, statuses, body] of cases) {
      const result = await send().catch((error: Error) => ({ status: 0, text: error.message }));
      const ok =
        statuses.includes(result.status) &&
        !/\n\s+at |node_modules/.test(result.text) &&
        (!body || body.test(result.text));
      count('http', ok);
      if (!ok) failures.push(`${name}: ${result.status} ${result.text.slice(0, 300)}`);
    }
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(failures).toEqual([]);
  });
});
