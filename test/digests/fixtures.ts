// A small hand-built school whose digest figures are computed by hand in the tests (not by the
// code under test): two children of one family, edge-case guardians, and a second school that
// must never appear in the first one's emails.
import { sql } from 'kysely';
import type { Db } from '../../core/db.js';

export const SECRET = 'digest-test-secret-0123456789abcdef0123456789';

export const T = {
  a: '0a000000-0000-4000-8000-000000000001',
  b: '0b000000-0000-4000-8000-000000000002',
};

// Students of tenant A.
export const S = {
  zoe: '5a000000-0000-4000-8000-000000000001',
  liam: '5a000000-0000-4000-8000-000000000002',
  s3: '5a000000-0000-4000-8000-000000000003',
  s4: '5a000000-0000-4000-8000-000000000004',
  s5: '5a000000-0000-4000-8000-000000000005',
  s6: '5a000000-0000-4000-8000-000000000006',
  s7: '5a000000-0000-4000-8000-000000000007',
  s8: '5a000000-0000-4000-8000-000000000008',
  s9: '5a000000-0000-4000-8000-000000000009',
  other: '5b000000-0000-4000-8000-000000000001',
};

// Guardians: g1 (Zoë + Liam), g2 (Zoë), g3 opted out, g4 no email, g5 bad email, g6 no school
// days, g7 French, g8 header injection in the name, g9 a locale the templates do not know,
// other = tenant B.
export const G = {
  g1: '6a000000-0000-4000-8000-000000000001',
  g2: '6a000000-0000-4000-8000-000000000002',
  g3: '6a000000-0000-4000-8000-000000000003',
  g4: '6a000000-0000-4000-8000-000000000004',
  g5: '6a000000-0000-4000-8000-000000000005',
  g6: '6a000000-0000-4000-8000-000000000006',
  g7: '6a000000-0000-4000-8000-000000000007',
  g8: '6a000000-0000-4000-8000-000000000008',
  g9: '6a000000-0000-4000-8000-000000000009',
  other: '6b000000-0000-4000-8000-000000000001',
};

export const EMAIL = {
  g1: 'siobhan.obrien@example.org',
  g2: 'padraig.obrien@example.org',
  g3: 'optout@example.org',
  g7: 'amelie@example.fr',
  g8: 'eve@example.org',
  g9: 'klaus@example.de',
  other: 'siobhan.obrien@example.org',
};

/** The week every test digests: Monday 9 to Sunday 15 March 2026 (the term began Monday 2 March). */
export const WEEK = { from: '2026-03-09', to: '2026-03-15' };

export const SCHOOL_A = `St. Mary's <Academy> & Co`;

export async function createDigestFixture(db: Db): Promise<void> {
  await sql`
    INSERT INTO tenants (id, slug, name, time_zone, locale, primary_color, secondary_color, settings) VALUES
      (${T.a}, 'st-marys', ${SCHOOL_A}, 'America/New_York', 'en-GB', '#123456', '#ABCDEF',
       '{"attendance": {"chronicAbsencePercent": 12}}'),
      (${T.b}, 'kolkata-public', 'Kolkata Public School', 'Asia/Kolkata', 'en-IN', '#1F4E79', '#F2A900', '{}')`.execute(
    db,
  );
  await sql`
    INSERT INTO academic_terms (tenant_id, name, academic_year, kind, start_date, end_date) VALUES
      (${T.a}, '2025-26', '2025-26', 'year', '2025-08-20', '2026-06-30'),
      (${T.a}, 'Spring term', '2025-26', 'term', '2026-03-02', '2026-06-30')`.execute(db);
  const students: [string, string, string, string][] = [
    [T.a, S.zoe, 'Zoë', "O'Brien"],
    [T.a, S.liam, 'Liam', "O'Brien"],
    [T.a, S.s3, 'Ana', 'Silva'],
    [T.a, S.s4, 'Ben', 'Noemail'],
    [T.a, S.s5, 'Cara', 'Bad'],
    [T.a, S.s6, 'Dev', 'Nodays'],
    [T.a, S.s7, 'Léa', 'Dupré'],
    [T.a, S.s8, 'Max', 'Inject'],
    [T.a, S.s9, 'Jonas', 'Müller'],
    [T.b, S.other, 'Arjun', 'Kolkatawala'],
  ];
  for (const [tenant, id, first, last] of students) {
    await sql`
      INSERT INTO students (id, tenant_id, student_number, first_name, last_name, grade_level, admission_date)
      VALUES (${id}, ${tenant}, ${id.slice(-4)}, ${first}, ${last}, '5', '2025-08-20')`.execute(db);
  }
  const guardians: [string, string, string, string, string | null, string | null, boolean][] = [
    [T.a, G.g1, 'Siobhán', "O'Brien", EMAIL.g1, 'en-US', false],
    [T.a, G.g2, 'Pádraig', "O'Brien", EMAIL.g2, null, false],
    [T.a, G.g3, 'Olga', 'Out', EMAIL.g3, null, true],
    [T.a, G.g4, 'Nora', 'Noemail', null, null, false],
    [T.a, G.g5, 'Bob', 'Bad', 'not-an-address', null, false],
    [T.a, G.g6, 'Dina', 'Nodays', 'dina@example.org', null, false],
    [T.a, G.g7, 'Amélie', 'Dupré', EMAIL.g7, 'fr-FR', false],
    [T.a, G.g8, 'Eve\r\nBcc: attacker@evil.example', '<b>Inject</b>', EMAIL.g8, null, false],
    [T.a, G.g9, 'Klaus', 'Müller', EMAIL.g9, 'de-DE', false],
    [T.b, G.other, 'Siobhán', "O'Brien", EMAIL.other, null, false],
  ];
  for (const [tenant, id, first, last, email, locale, optOut] of guardians) {
    await sql`
      INSERT INTO guardians (id, tenant_id, first_name, last_name, email, locale, digest_opt_out)
      VALUES (${id}, ${tenant}, ${first}, ${last}, ${email}, ${locale}, ${optOut})`.execute(db);
  }
  const links: [string, string, string][] = [
    [T.a, S.zoe, G.g1],
    [T.a, S.liam, G.g1],
    [T.a, S.zoe, G.g2],
    [T.a, S.s3, G.g3],
    [T.a, S.s4, G.g4],
    [T.a, S.s5, G.g5],
    [T.a, S.s6, G.g6],
    [T.a, S.s7, G.g7],
    [T.a, S.s8, G.g8],
    [T.a, S.s9, G.g9],
    [T.b, S.other, G.other],
  ];
  for (const [tenant, student, guardian] of links) {
    await sql`INSERT INTO student_guardians (tenant_id, student_id, guardian_id)
              VALUES (${tenant}, ${student}, ${guardian})`.execute(db);
  }

  // [tenant, student, date, period, status, reason]
  const marks: [string, string, string, number, string, string | null][] = [];
  const prevWeek = ['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'];
  // Zoë: all present the week before; this week present, late, absent (Fever), excused (Dentist), present.
  for (const day of prevWeek) marks.push([T.a, S.zoe, day, 0, 'present', null]);
  marks.push(
    [T.a, S.zoe, '2026-03-09', 0, 'present', null],
    [T.a, S.zoe, '2026-03-10', 0, 'late', null],
    [T.a, S.zoe, '2026-03-11', 0, 'absent', 'Fever'],
    [T.a, S.zoe, '2026-03-12', 0, 'excused', 'Dentist'],
    [T.a, S.zoe, '2026-03-13', 0, 'present', null],
  );
  // Liam: absent (no reason) on 4 March; present all this week, Friday by period marks
  // (2 of 4 periods attended: present under half-of-periods).
  for (const day of prevWeek)
    marks.push([T.a, S.liam, day, 0, day === '2026-03-04' ? 'absent' : 'present', null]);
  for (const day of ['2026-03-09', '2026-03-10', '2026-03-11', '2026-03-12'])
    marks.push([T.a, S.liam, day, 0, 'present', null]);
  marks.push(
    [T.a, S.liam, '2026-03-13', 1, 'present', null],
    [T.a, S.liam, '2026-03-13', 2, 'present', null],
    [T.a, S.liam, '2026-03-13', 3, 'absent', 'Left early'],
    [T.a, S.liam, '2026-03-13', 4, 'absent', null],
  );
  for (const student of [S.s3, S.s4, S.s5, S.s7, S.s8, S.s9])
    marks.push([T.a, student, '2026-03-09', 0, 'present', null]);
  marks.push([T.a, S.s7, '2026-03-11', 0, 'absent', 'Grippe']);
  // Dev only had school days the week before.
  marks.push([T.a, S.s6, '2026-03-02', 0, 'present', null]);
  marks.push([T.b, S.other, '2026-03-10', 0, 'present', null]);
  for (const [tenant, student, date, period, status, reason] of marks) {
    await sql`
      INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status, reason)
      VALUES (${tenant}, ${student}, ${date}, ${period}, ${status}, ${reason})`.execute(db);
  }
}

export function digestEnv(smtpUrl: string): Record<string, string> {
  return {
    SMTP_URL: smtpUrl,
    SIGNING_SECRET: SECRET,
    PUBLIC_URL: 'https://reports.example.org',
    MAIL_FROM: 'School Reports <reports@example.org>',
  };
}
