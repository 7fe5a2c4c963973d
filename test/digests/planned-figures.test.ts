// Planning computes every child's figures in one pass and hands them to the send jobs in their
// payload: they match what a per-guardian read gives, stay redacted on the board and in run
// history, and a send (or a retry of it) renders exactly what was planned.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../core/tenant-scope.js';
import { redactPersonalData } from '../../dashboard/redaction.js';
import { termToDateRates } from '../../jobs/attendance/figures.js';
import { attendancePolicyFrom } from '../../jobs/attendance/policy.js';
import { attendanceDigest } from '../../jobs/attendance-digest.js';
import { attendanceDigestSend } from '../../jobs/attendance-digest-send.js';
import { parsePayload } from '../../jobs/define-job.js';
import { childFigures, guardianChildFigures } from '../../jobs/digests/figures.js';
import { closeDigestMailers } from '../../jobs/digests/mailer.js';
import { redactPaths } from '../../workers/redact.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createDigestFixture, digestEnv, EMAIL, G, S, T, WEEK } from './fixtures.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

let database: TestDatabase;
let sink: SmtpSink;
let enqueued: { kind: string; payload: unknown }[];

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSmtpSink();
  await createDigestFixture(database.db);
  const context = testJobContext(database.db, { env: digestEnv(sink.url) });
  await attendanceDigest.run(
    parsePayload(attendanceDigest, { tenantId: T.a, ...WEEK, inline: false }),
    context,
  );
  // As BullMQ stores it: JSON.
  enqueued = context.enqueued.map((e) => ({ kind: e.kind, payload: JSON.parse(JSON.stringify(e.payload)) }));
});
afterAll(async () => {
  await closeDigestMailers();
  await sink.close();
  await database.drop();
});

const payloadFor = (guardianId: string) =>
  enqueued.find((e) => (e.payload as { guardianId: string }).guardianId === guardianId)!.payload as {
    children: { firstName: string; termRate: number | null }[];
  } & Record<string, unknown>;

describe('figures planned for the whole tenant', () => {
  it('equal what a per-guardian read gives, for every planned send', async () => {
    expect(enqueued).toHaveLength(5);
    const rules = {
      policy: attendancePolicyFrom({ attendance: { chronicAbsencePercent: 12 } }),
      nearThresholdPoints: 2,
    };
    for (const { payload } of enqueued) {
      const { guardianId, children, chronicAbsencePercent } = payload as Record<string, unknown>;
      const read = await withTenant(database.db, T.a, (trx) =>
        guardianChildFigures(trx, T.a, String(guardianId), WEEK, rules),
      );
      expect(children).toEqual(read);
      expect(chronicAbsencePercent).toBe(12);
    }
    // Siobhán's two children, in the order the email lists them, with their term-to-date rates.
    expect(payloadFor(G.g1).children.map((c) => [c.firstName, c.termRate])).toEqual([
      ['Liam', 90],
      ['Zoë', 80],
    ]);
  });

  it('give the change since the previous period as two term-to-date reads would, and none across terms', async () => {
    const rules = {
      policy: attendancePolicyFrom({ attendance: { chronicAbsencePercent: 12 } }),
      nearThresholdPoints: 2,
    };
    const figures = await withTenant(database.db, T.a, (trx) => childFigures(trx, T.a, WEEK, rules));
    const [end, before] = await withTenant(database.db, T.a, async (trx) => [
      await termToDateRates(trx, T.a, [...figures.keys()], WEEK.to),
      await termToDateRates(trx, T.a, [...figures.keys()], '2026-03-08'),
    ]);
    for (const [id, child] of figures) {
      const previous = before.get(id)!.rate;
      const expected =
        previous === null ? null : Math.round((Number(end.get(id)!.rate) - Number(previous)) * 100) / 100;
      expect(child.rateChange, child.firstName).toBe(expected);
    }
    expect(figures.get(S.zoe)!.rateChange).toBe(-20);
    // The week the Spring term began: the day before was in the year term, so no change is shown.
    const firstWeek = await withTenant(database.db, T.a, (trx) =>
      childFigures(trx, T.a, { from: '2026-03-02', to: '2026-03-08' }, rules),
    );
    expect(firstWeek.get(S.zoe)).toMatchObject({ termStart: '2026-03-02', termRate: 100, rateChange: null });
  });

  it("keep children's names and absence reasons off the board and out of run history", () => {
    const payload = payloadFor(G.g1);
    expect(JSON.stringify(payload)).toContain('Fever');
    for (const shown of [
      redactPersonalData(payload, attendanceDigestSend.personalData),
      redactPaths(payload, attendanceDigestSend.personalData),
    ]) {
      const text = JSON.stringify(shown);
      for (const secret of ['Zoë', 'Liam', "O'Brien", 'Fever', 'Dentist']) expect(text).not.toContain(secret);
      expect(text).toContain('"termRate":80'); // the figures themselves are not personal
    }
  });

  it('are what the send renders, also when attendance changed after planning (a retry sends the same)', async () => {
    await sql`UPDATE attendance SET reason = 'Flu' WHERE tenant_id = ${T.a} AND student_id = ${S.zoe}
              AND attendance_date = '2026-03-11'`.execute(database.db);
    const job = enqueued.find((e) => (e.payload as { guardianId: string }).guardianId === G.g2)!;
    const outcome = await attendanceDigestSend.run(
      parsePayload(attendanceDigestSend, job.payload),
      testJobContext(database.db, { env: digestEnv(sink.url), jobId: 'send-g2' }),
    );
    expect(outcome).toMatchObject({ status: 'sent' });
    const mails = sink.to(EMAIL.g2);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.mail.text).toContain('11 March: Fever');
    expect(mails[0]!.mail.text).not.toContain('Flu');
  });
});
