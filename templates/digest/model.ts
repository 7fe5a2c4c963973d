// What the digest templates need, already decided: the HTML and text parts render the same
// model, so they always state the same facts.

import { headerSafe } from '../../jobs/digests/address.js';
import type { ChildFigures } from '../../jobs/digests/figures.js';
import { type DigestLocale, type Formatters, formatters } from './locale.js';
import { type DigestMessages, messages } from './messages.js';

export interface DigestInput {
  school: { name: string; primaryColor: string; secondaryColor: string };
  guardian: { firstName: string; lastName: string };
  locale: DigestLocale;
  period: { from: string; to: string };
  children: ChildFigures[];
  chronicAbsencePercent: number;
  unsubscribeUrl: string;
}

export interface DigestView {
  input: DigestInput;
  t: DigestMessages;
  f: Formatters;
  periodText: string;
  subject: string;
  guardianName: string;
}

export function childName(child: ChildFigures): string {
  return `${child.firstName} ${child.lastName}`.trim();
}

export function digestView(input: DigestInput): DigestView {
  const t = messages[input.locale.language];
  const f = formatters(input.locale);
  const periodText = f.range(input.period.from, input.period.to);
  return {
    input,
    t,
    f,
    periodText,
    // The subject is a header: no line breaks from the school's name can reach it.
    subject: headerSafe(t.subject(input.school.name, periodText)),
    guardianName: `${input.guardian.firstName} ${input.guardian.lastName}`.trim(),
  };
}

/** The rate line: "Attendance this term (since ...): 92.5% (+1.5 points since ...)". */
export function rateLine(view: DigestView, child: ChildFigures): string {
  const { t, f } = view;
  if (child.termRate === null) return t.termRateNone;
  const change =
    child.rateChange === null
      ? ''
      : ` (${child.rateChange === 0 ? t.noChange : t.change(f.points(child.rateChange))})`;
  return `${t.termRate(f.percent(child.termRate), f.day(child.termStart))}${change}`;
}

export function chronicLine(view: DigestView, child: ChildFigures): string | null {
  if (!child.chronic || child.absencePercent === null) return null;
  const { t, f } = view;
  const args = [
    child.firstName,
    f.percent(child.absencePercent),
    f.percent(view.input.chronicAbsencePercent),
  ] as const;
  return child.chronic === 'at' ? t.chronicAt(...args) : t.chronicNear(...args);
}

export function absenceLine(view: DigestView, absence: ChildFigures['absences'][number]): string {
  const { t, f } = view;
  const reason = absence.reason?.trim() || t.noReason;
  const tag = absence.status === 'excused' ? ` (${t.excusedTag})` : '';
  return `${f.day(absence.date)}${tag}: ${reason}`;
}
