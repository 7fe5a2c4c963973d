// Periods and schedules on the tenant's own clock, and bad input that must fail clearly without
// writing anything.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../../core/errors.js';
import { withTenant } from '../../core/tenant-scope.js';
import { termToDateRates } from '../../jobs/attendance/figures.js';
import { attendanceDigest } from '../../jobs/attendance-digest.js';
import { attendanceDigestSend } from '../../jobs/attendance-digest-send.js';
import { parsePayload } from '../../jobs/define-job.js';
import { isDeliverableAddress } from '../../jobs/digests/address.js';
import { digestPeriod, localTime } from '../../jobs/digests/period.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createDigestFixture, digestEnv, G, S, T } from './fixtures.js';

let database: TestDatabase;

// No SMTP server is needed: these runs fan out (inline: false) or are refused before sending.
const ctx = (now: string) => testJobContext(database.db, { env: digestEnv('smtp://127.0.0.1:9'), now });
const plan = async (payload: unknown, now = '2026-03-16T12:00:00Z') => {
  const context = ctx(now);
  const result = await attendanceDigest.run(parsePayload(attendanceDigest, payload), context);
  return { result, enqueued: context.enqueued };
};

beforeAll(async () => {
  database = await createTestDatabase();
  await createDigestFixture(database.db);
});
afterAll(() => database.drop());

describe('digest periods in the tenant time zone', () => {
  it('a Friday in Kolkata is still Thursday in New York', () => {
    const at = new Date('2026-03-19T20:00:00Z');
    expect(localTime(at, 'Asia/Kolkata')).toEqual({ date: '2026-03-20', weekday: 5, hour: 1 });
    expect(localTime(at, 'America/New_York')).toEqual({ date: '2026-03-19', weekday: 4, hour: 16 });
    expect(digestPeriod('daily', at, 'Asia/Kolkata')).toEqual({
      kind: 'daily',
      from: '2026-03-20',
      to: '2026-03-20',
    });
    expect(digestPeriod('daily', at, 'America/New_York')).toMatchObject({ from: '2026-03-19' });
    // Sunday evening in New York is already Monday in Kolkata: different weeks.
    const sunday = new Date('2026-03-15T20:00:00Z');
    expect(digestPeriod('weekly', sunday, 'America/New_York')).toMatchObject({
      from: '2026-03-09',
      to: '2026-03-15',
    });
    expect(digestPeriod('weekly', sunday, 'Asia/Kolkata')).toMatchObject({
      from: '2026-03-16',
      to: '2026-03-22',
    });
  });

  it('a run by hand takes the current week on the tenant clock (ctx.clock) and fans out with stable job ids', async () => {
    const { result, enqueued } = await plan({ tenantId: T.a }, '2026-03-15T20:00:00Z');
    expect(result).toMatchObject({
      due: true,
      period: { kind: 'weekly', from: '2026-03-09', to: '2026-03-15' },
    });
    expect(result).toMatchObject({ planned: 5, enqueued: 5, sent: 0 });
    expect(enqueued.map((e) => e.kind)).toEqual(Array(5).fill('attendance-digest-send'));
    expect(enqueued.find((e) => (e.payload as { guardianId: string }).guardianId === G.g1)).toMatchObject({
      payload: { tenantId: T.a, guardianId: G.g1, kind: 'weekly', from: '2026-03-09', to: '2026-03-15' },
      options: { jobId: `attendance-digest-send.${T.a}.${G.g1}.weekly.2026-03-09.2026-03-15` },
    });
    // The same instant is Monday in Kolkata: tenant B's week has no school days yet.
    const kolkata = await plan({ tenantId: T.b }, '2026-03-15T20:00:00Z');
    expect(kolkata.result).toMatchObject({
      period: { from: '2026-03-16' },
      planned: 0,
      skipped: { noSchoolDays: 1 },
    });
  });

  it('a scheduled slot is due only at the tenant-local weekday and hour of its settings', async () => {
    // Friday 13 March 15:00 in Kolkata = 09:30 UTC = 05:30 in New York.
    const slot = '2026-03-13T09:30:00.000Z';
    expect((await plan({ tenantId: T.b, slot })).result).toMatchObject({
      due: true,
      period: { kind: 'weekly', from: '2026-03-09', to: '2026-03-15' },
      planned: 1,
    });
    expect((await plan({ tenantId: T.a, slot })).result).toMatchObject({ due: false, planned: 0 });
    // Daily at 15:00 New York time: Thursday 19 March 19:00 UTC.
    await sql`UPDATE tenants SET settings = settings || '{"digest": {"frequency": "daily"}}' WHERE id = ${T.a}`.execute(
      database.db,
    );
    const daily = await plan({ tenantId: T.a, slot: '2026-03-19T19:00:00.000Z' });
    expect(daily.result).toMatchObject({
      due: true,
      period: { kind: 'daily', from: '2026-03-19', to: '2026-03-19' },
    });
    expect((await plan({ tenantId: T.b, slot: '2026-03-19T19:00:00.000Z' })).result.due).toBe(false);
  });

  it('per-tenant rate limiting spaces the fan-out by the window', async () => {
    const context = testJobContext(database.db, {
      env: { ...digestEnv('smtp://127.0.0.1:9'), DIGEST_TENANT_RATE_MAX: '2', DIGEST_RATE_WINDOW_MS: '1000' },
    });
    await attendanceDigest.run(
      parsePayload(attendanceDigest, { tenantId: T.a, from: '2026-03-09', to: '2026-03-15', inline: false }),
      context,
    );
    expect(context.enqueued.map((e) => e.options?.delayMs ?? 0)).toEqual([0, 0, 1000, 1000, 2000]);
  });
});

describe('term-to-date rates', () => {
  it('count from the start of the term containing the date, else the year, else 1 August', async () => {
    const rates = await withTenant(database.db, T.a, (trx) =>
      termToDateRates(trx, T.a, [S.zoe, S.liam, S.s6], '2026-03-15'),
    );
    expect(rates.get(S.zoe)).toMatchObject({
      termStart: '2026-03-02',
      daysInMembership: 10,
      daysAttended: 8,
      rate: '80.00',
    });
    expect(rates.get(S.liam)).toMatchObject({
      termStart: '2026-03-02',
      daysInMembership: 10,
      daysAttended: 9,
      rate: '90.00',
    });
    expect(rates.get(S.s6)).toMatchObject({
      termStart: '2026-03-02',
      daysInMembership: 1,
      daysAttended: 1,
      rate: '100.00',
    });
    const beforeTerm = await withTenant(database.db, T.a, (trx) =>
      termToDateRates(trx, T.a, [S.zoe], '2026-02-01'),
    );
    expect(beforeTerm.get(S.zoe)).toMatchObject({
      termStart: '2025-08-20',
      daysInMembership: 0,
      daysAttended: 0,
      rate: null,
    });
    const noTerms = await withTenant(database.db, T.b, (trx) =>
      termToDateRates(trx, T.b, [S.other], '2026-03-15'),
    );
    expect(noTerms.get(S.other)).toMatchObject({
      termStart: '2025-08-01',
      daysInMembership: 1,
      daysAttended: 1,
      rate: '100.00',
    });
  });

  it('follow the tenant policy: excused days out of membership when the school says so', async () => {
    await sql`UPDATE tenants SET settings = settings || '{"attendance": {"excusedCountsAsAbsence": false}}'
              WHERE id = ${T.b}`.execute(database.db);
    await sql`INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status)
              VALUES (${T.b}, ${S.other}, '2026-03-11', 0, 'excused')`.execute(database.db);
    const rates = await withTenant(database.db, T.b, (trx) =>
      termToDateRates(trx, T.b, [S.other], '2026-03-15'),
    );
    expect(rates.get(S.other)).toMatchObject({ daysInMembership: 1, daysAttended: 1, rate: '100.00' });
    await sql`DELETE FROM attendance WHERE tenant_id = ${T.b} AND attendance_date = '2026-03-11'`.execute(
      database.db,
    );
    await sql`UPDATE tenants SET settings = '{}' WHERE id = ${T.b}`.execute(database.db);
  });
});

describe('bad input', () => {
  const rejects = async (payload: unknown, field: string | RegExp) => {
    const error = await plan(payload).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toMatch(field);
  };

  it('names the field for bad tenants, dates and ranges, and writes nothing', async () => {
    const count = async () =>
      (await sql<{ n: number }>`SELECT count(*) AS n FROM email_deliveries`.execute(database.db)).rows[0]!.n;
    const before = await count();
    await rejects({ tenantId: 'not-a-uuid' }, /^tenantId: must be a UUID/);
    await expect(plan({ tenantId: '00000000-0000-4000-8000-00000000ffff' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await rejects({ tenantId: T.a, from: '2026-03-09' }, /^to: give both from and to/);
    await rejects(
      { tenantId: T.a, from: '2026-02-30', to: '2026-03-01' },
      /^from: is not a calendar date: 2026-02-30/,
    );
    await rejects({ tenantId: T.a, from: '2026-03-09', to: '2026-03-01' }, /^to: must not be before from/);
    await rejects({ tenantId: T.a, slot: 'friday' }, /^payload\.slot/);
    expect(await count()).toBe(before);
  });

  it('refuses to run without SIGNING_SECRET, since every email needs a signed unsubscribe link', async () => {
    const context = testJobContext(database.db, { env: { SMTP_URL: 'smtp://127.0.0.1:9' } });
    await expect(
      attendanceDigest.run(parsePayload(attendanceDigest, { tenantId: T.a }), context),
    ).rejects.toThrow(/^SIGNING_SECRET: is required/);
    expect(context.enqueued).toHaveLength(0);
  });

  it('names the tenant setting that is wrong', async () => {
    await sql`UPDATE tenants SET settings = settings || '{"digest": {"frequency": "hourly"}}' WHERE id = ${T.b}`.execute(
      database.db,
    );
    await rejects(
      { tenantId: T.b },
      /^settings\.digest\.frequency: .*fix the tenant's settings\.digest\.frequency/,
    );
    await sql`UPDATE tenants SET settings = '{}' WHERE id = ${T.b}`.execute(database.db);
  });

  it('a send with a bad guardian id fails as input, not infrastructure', async () => {
    const run = attendanceDigestSend.run(
      parsePayload(attendanceDigestSend, {
        tenantId: T.a,
        guardianId: 'x',
        kind: 'weekly',
        from: '2026-03-09',
        to: '2026-03-15',
      }),
      ctx('2026-03-16T12:00:00Z'),
    );
    await expect(run).rejects.toThrow(/^guardianId: must be a UUID/);
    expect(() => parsePayload(attendanceDigestSend, { tenantId: T.a })).toThrow(InputError);
  });

  it('tells addresses from non-addresses', () => {
    for (const good of ['a@example.org', "o'brien@school.ie", 'first.last+tag@sub.example.co.uk'])
      expect(isDeliverableAddress(good), good).toBe(true);
    for (const bad of [
      'not-an-address',
      'a@b',
      'a b@example.org',
      'a@example.org\r\nBcc: x@y.z',
      'a@@example.org',
      '.a@example.org',
      'a..b@example.org',
      '<a@example.org>',
      'a@example.org, b@example.org',
      '',
    ])
      expect(isDeliverableAddress(bad), JSON.stringify(bad)).toBe(false);
  });
});
