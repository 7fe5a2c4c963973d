// One digest run against a real SMTP server: who gets mail, what it says (figures computed by
// hand in fixtures.ts), both parts, headers, locales, escaping, and that nothing is sent twice.
import { sql } from 'kysely';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attendanceDigest } from '../../jobs/attendance-digest.js';
import { attendanceDigestSend } from '../../jobs/attendance-digest-send.js';
import { parsePayload } from '../../jobs/define-job.js';
import { closeDigestMailers } from '../../jobs/digests/mailer.js';
import { digestMessageId } from '../../jobs/digests/message-id.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createDigestFixture, digestEnv, EMAIL, G, S, SCHOOL_A, T, WEEK } from './fixtures.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

let database: TestDatabase;
let sink: SmtpSink;
let firstRun: Awaited<ReturnType<typeof attendanceDigest.run>>;

const ctx = () => testJobContext(database.db, { env: digestEnv(sink.url), now: '2026-03-16T12:00:00Z' });
const runA = () =>
  attendanceDigest.run(
    parsePayload(attendanceDigest, { tenantId: T.a, from: WEEK.from, to: WEEK.to }),
    ctx(),
  );

function only(address: string): ParsedMail {
  const mails = sink.to(address);
  expect(mails, address).toHaveLength(1);
  return mails[0]!.mail;
}

function header(mail: ParsedMail, key: string): string | undefined {
  return mail.headerLines.find((h) => h.key === key)?.line.replace(/^[^:]+:\s*/, '');
}

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSmtpSink();
  await createDigestFixture(database.db);
  firstRun = await runA();
});
afterAll(async () => {
  await closeDigestMailers();
  await sink.close();
  await database.drop();
});

describe('attendance digest run', () => {
  it('reports planned, sent, skipped and failed by reason', () => {
    expect(firstRun).toMatchObject({
      tenantId: T.a,
      period: { kind: 'custom', ...WEEK },
      planned: 5,
      sent: 5,
      alreadySent: 0,
      skipped: { optedOut: 1, noEmail: 1, noSchoolDays: 1 },
      failed: { 'invalid-address': 1 },
    });
  });

  it('sends one email to each guardian with a child who had school days, and nobody else', async () => {
    const recipients = sink.messages.flatMap((m) => m.to).sort();
    expect(recipients).toEqual(
      [EMAIL.g7, EMAIL.g8, EMAIL.g9, EMAIL.g2, EMAIL.g1].map((e) => e.toLowerCase()).sort(),
    );
    expect(sink.to(EMAIL.g3)).toHaveLength(0); // opted out
    expect(sink.to('dina@example.org')).toHaveLength(0); // no school days in the week
    expect(sink.to('attacker@evil.example')).toHaveLength(0);
    const { rows } = await sql<{ guardian_id: string; status: string; reason_code: string | null }>`
      SELECT guardian_id, status, reason_code FROM email_deliveries ORDER BY guardian_id`.execute(
      database.db,
    );
    expect(rows).toEqual([
      { guardian_id: G.g1, status: 'sent', reason_code: null },
      { guardian_id: G.g2, status: 'sent', reason_code: null },
      { guardian_id: G.g3, status: 'skipped', reason_code: 'opted-out' },
      { guardian_id: G.g4, status: 'skipped', reason_code: 'no-email' },
      { guardian_id: G.g5, status: 'failed', reason_code: 'invalid-address' },
      { guardian_id: G.g7, status: 'sent', reason_code: null },
      { guardian_id: G.g8, status: 'sent', reason_code: null },
      { guardian_id: G.g9, status: 'sent', reason_code: null },
    ]);
  });

  it("covers all of a guardian's children with hand-computed figures (en-US)", () => {
    const text = only(EMAIL.g1).text!;
    expect(text.indexOf("== Liam O'Brien ==")).toBeLessThan(text.indexOf("== Zoë O'Brien =="));
    // Liam: 5 days present (Friday by period marks, 2 of 4), term 9/10 = 90%, was 4/5 = 80%.
    expect(text).toContain('Present: 5 | Late: 0 | Absent: 0 | Excused: 0');
    expect(text).toContain(
      'Attendance this term (since Monday, March 2): 90.0% (+10.0 points since the previous period)',
    );
    expect(text).toContain('Liam has missed 10.0% of school days this term, close to the 12.0% level');
    // Zoë: present, late, absent (Fever), excused (Dentist), present; term 8/10 = 80%, was 5/5.
    expect(text).toContain('Present: 2 | Late: 1 | Absent: 1 | Excused: 1');
    expect(text).toContain('Wednesday, March 11: Fever');
    expect(text).toContain('Thursday, March 12 (excused): Dentist');
    expect(text).toContain('Attendance this term (since Monday, March 2): 80.0% (-20.0 points since');
    expect(text).toContain('Zoë has missed 20.0% of school days this term, at or above the 12.0% level');
    expect(text).not.toContain('Arjun');
  });

  it('has both parts, the school, its colours and a coloured bar per child, escaped', () => {
    const mail = only(EMAIL.g1);
    const html = String(mail.html);
    expect(mail.text).toContain(SCHOOL_A);
    expect(html).toContain('St. Mary&#39;s &lt;Academy&gt; &amp; Co');
    expect(html).not.toContain('<Academy>');
    expect(html).toContain('background-color:#123456');
    expect(html).toContain('border-bottom:4px solid #ABCDEF');
    expect(html).toContain('Zoë O&#39;Brien');
    // Zoë's bar: 2 present, 1 late, 1 excused, 1 absent of 5 days.
    expect(html).toContain('<td width="40%" style="background-color:#2E7D32');
    expect(html.match(/<td width="20%" style="background-color:#/g)).toHaveLength(3);
    // Intl puts thin spaces around the dash; the header keeps plain ones.
    expect(mail.subject).toBe(`${SCHOOL_A}: attendance for Mar 9 – 15, 2026`);
  });

  it('carries unsubscribe headers and a deterministic Message-ID', () => {
    const mail = only(EMAIL.g1);
    expect(mail.messageId).toBe(
      digestMessageId(T.a, G.g1, { kind: 'custom', ...WEEK }, 'School Reports <reports@example.org>'),
    );
    expect(header(mail, 'list-unsubscribe')).toMatch(
      /^<https:\/\/reports\.example\.org\/unsubscribe\?token=[\w.%-]+>$/,
    );
    expect(header(mail, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(mail.text).toMatch(/Stop these emails: https:\/\/reports\.example\.org\/unsubscribe\?token=/);
    expect(String(mail.html)).toContain('href="https://reports.example.org/unsubscribe?token=');
  });

  it("formats for the guardian's locale, falling back to the school's, then English", () => {
    // Guardian without a locale: the school's en-GB.
    expect(only(EMAIL.g2).text).toContain('Wednesday 11 March: Fever');
    // fr-FR guardian: French words, French dates and numbers.
    const french = only(EMAIL.g7);
    expect(french.subject).toMatch(/: assiduité du 9.15 mars 2026$/u);
    expect(french.text).toContain('mercredi 11 mars: Grippe');
    expect(french.text).toMatch(/Assiduité ce trimestre \(depuis le lundi 2 mars\) : 50,0\s%/u);
    expect(french.text).toContain('Bonjour Amélie Dupré,');
    // de-DE is not a template language: the school's en-GB.
    expect(only(EMAIL.g9).text).toContain('Attendance this term (since Monday 2 March): 100.0%');
  });

  it('keeps a header injection in a name out of the headers, and escapes it in the body', () => {
    const mail = only(EMAIL.g8);
    expect(sink.to(EMAIL.g8)[0]!.to).toEqual([EMAIL.g8]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((v) => v.address) : []).toEqual([EMAIL.g8]);
    expect(mail.headerLines.some((h) => h.key === 'bcc')).toBe(false);
    expect(String(mail.html)).toContain('&lt;b&gt;Inject&lt;/b&gt;');
    expect(String(mail.html)).not.toContain('<b>Inject</b>');
  });

  it('running the plan again, or a send again, sends nothing new', async () => {
    const before = sink.messages.length;
    const again = await runA();
    expect(again).toMatchObject({ planned: 5, sent: 0, alreadySent: 5 });
    const send = await attendanceDigestSend.run(
      parsePayload(attendanceDigestSend, { tenantId: T.a, guardianId: G.g1, kind: 'custom', ...WEEK }),
      ctx(),
    );
    expect(send).toMatchObject({ status: 'unchanged', current: 'sent' });
    expect(sink.messages.length).toBe(before);
  });

  it("tenants never mix: the other school's run mails only its own family", async () => {
    const result = await attendanceDigest.run(
      parsePayload(attendanceDigest, { tenantId: T.b, from: WEEK.from, to: WEEK.to }),
      ctx(),
    );
    expect(result).toMatchObject({ planned: 1, sent: 1 });
    // Same address as g1 in tenant A: now two messages, one from each school, never mixed.
    const mails = sink.to(EMAIL.other).map((m) => m.mail);
    expect(mails).toHaveLength(2);
    const fromB = mails.find((m) => m.text!.includes('Kolkata Public School'))!;
    expect(fromB.text).toContain('== Arjun Kolkatawala ==');
    expect(fromB.text).not.toMatch(/Zoë|Liam/);
    expect(fromB.messageId).not.toBe(mails.find((m) => m !== fromB)!.messageId);
    const { rows } = await sql<{ n: number }>`
      SELECT count(*) AS n FROM email_deliveries WHERE tenant_id = ${T.b}`.execute(database.db);
    expect(rows[0]!.n).toBe(1);
    expect(S.other).toBeDefined();
  });
});
