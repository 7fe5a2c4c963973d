// The templates on their own: locale resolution and formatting for every supported locale,
// escaping, and that the text part states the same facts as the HTML part.
import { describe, expect, it } from 'vitest';
import type { ChildFigures } from '../../jobs/digests/figures.js';
import { type DigestInput, renderDigest, resolveDigestLocale } from '../../templates/digest/index.js';

const child: ChildFigures = {
  studentId: 's1',
  firstName: 'Zoë',
  lastName: "O'Brien <i>",
  schoolDays: 5,
  present: 2,
  late: 1,
  absent: 1,
  excused: 1,
  absences: [
    { date: '2026-03-11', status: 'absent', reason: 'Fever & "cough"' },
    { date: '2026-03-12', status: 'excused', reason: null },
  ],
  termStart: '2026-03-02',
  daysInMembership: 1234,
  termRate: 87.25,
  rateChange: -1.5,
  absencePercent: 12.75,
  chronic: 'at',
};

const input = (locale: string | null, tenantLocale = 'en-US'): DigestInput => ({
  school: { name: 'Escuela Nº 5 "Benito Juárez"', primaryColor: '#336699', secondaryColor: 'red;x:1' },
  guardian: { firstName: 'María José', lastName: "D'Alembert" },
  locale: resolveDigestLocale(locale, tenantLocale),
  period: { from: '2026-03-09', to: '2026-03-15' },
  children: [child],
  chronicAbsencePercent: 10,
  unsubscribeUrl: 'https://reports.example.org/unsubscribe?token=a.b&x=<1>',
});

describe('digest templates', () => {
  it('resolves the guardian locale, then the school locale, then en-US', () => {
    expect(resolveDigestLocale('fr-CA', 'en-US')).toEqual({ tag: 'fr-CA', language: 'fr' });
    expect(resolveDigestLocale('es_MX', 'en-US')).toEqual({ tag: 'es-MX', language: 'es' });
    expect(resolveDigestLocale('de-DE', 'en-IN')).toEqual({ tag: 'en-IN', language: 'en' });
    expect(resolveDigestLocale('not a locale!', 'zz')).toEqual({ tag: 'en-US', language: 'en' });
    expect(resolveDigestLocale(null, null)).toEqual({ tag: 'en-US', language: 'en' });
  });

  it.each([
    ['en-US', 'Wednesday, March 11', '87.3%', '-1.5 points', 'Dear María José'],
    ['en-GB', 'Wednesday 11 March', '87.3%', '-1.5 points', 'Dear María José'],
    ['en-IN', 'Wednesday, 11 March', '87.3%', '-1.5 points', 'Dear María José'],
    ['es', 'miércoles, 11 de marzo', '87,3 %', '-1,5 puntos', 'Estimado/a María José'],
    ['fr', 'mercredi 11 mars', '87,3 %', '-1,5 points', 'Bonjour María José'],
  ])('formats dates and numbers for %s', (locale, day, rate, change, greeting) => {
    const { text, html } = renderDigest(input(locale));
    const normal = (s: string) => s.replace(/[\u202f\u00a0]/g, ' ');
    for (const part of [normal(text), normal(html)]) {
      expect(part).toContain(day);
      expect(part).toContain(rate);
      expect(part).toContain(change);
      expect(part).toContain(greeting);
    }
    // 1,234 days in membership is not shown; counts are small integers in every locale.
    expect(text).toMatch(/: 2 \| .*: 1 \| .*: 1 \| .*: 1/);
  });

  it('escapes every value in HTML and keeps the text part verbatim', () => {
    const { text, html, subject } = renderDigest(input('en-US'));
    expect(html).toContain('Escuela Nº 5 &quot;Benito Juárez&quot;');
    expect(html).toContain('Zoë O&#39;Brien &lt;i&gt;');
    expect(html).toContain('Fever &amp; &quot;cough&quot;');
    expect(html).toContain('D&#39;Alembert');
    expect(html).toContain('href="https://reports.example.org/unsubscribe?token=a.b&amp;x=&lt;1&gt;"');
    expect(html).not.toMatch(/<i>|red;x:1/);
    expect(html).toContain('border-bottom:4px solid #F2A900'); // a bad colour falls back
    expect(text).toContain("Zoë O'Brien <i>");
    expect(text).toContain('Wednesday, March 11: Fever & "cough"');
    expect(text).toContain('Thursday, March 12 (excused): no reason recorded');
    expect(subject).toBe('Escuela Nº 5 "Benito Juárez": attendance for Mar 9 – 15, 2026');
  });

  it('states the same facts in both parts', () => {
    const { text, html } = renderDigest(input('en-GB'));
    const facts = [
      'Present: 2',
      'Late: 1',
      'Absent: 1',
      'Excused: 1',
      '5 school days',
      'Attendance this term (since Monday 2 March): 87.3% (-1.5 points since the previous period)',
      'Zoë has missed 12.8% of school days this term, at or above the 10.0% level',
    ];
    const flat = html.replace(/<[^>]+>/g, '').replace(/&#39;/g, "'");
    for (const fact of facts) {
      expect(text, fact).toContain(fact);
      expect(flat, fact).toContain(fact);
    }
  });
});
