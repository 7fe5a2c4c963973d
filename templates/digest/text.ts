// The plain-text part: the same facts as the HTML part, for clients that show text only.
import { absenceLine, childName, chronicLine, type DigestView, rateLine } from './model.js';

export function renderDigestText(view: DigestView): string {
  const { t, f, input } = view;
  const lines: string[] = [
    input.school.name,
    '',
    t.greeting(view.guardianName),
    '',
    t.intro(view.periodText),
    '',
  ];
  for (const child of input.children) {
    lines.push(`== ${childName(child)} ==`);
    lines.push(t.schoolDays(f.integer(child.schoolDays)));
    lines.push(
      `${t.present}: ${f.integer(child.present)} | ${t.late}: ${f.integer(child.late)} | ` +
        `${t.absent}: ${f.integer(child.absent)} | ${t.excused}: ${f.integer(child.excused)}`,
    );
    lines.push(rateLine(view, child));
    if (child.absences.length > 0) {
      lines.push(`${t.absencesHeading}:`);
      for (const absence of child.absences) lines.push(`  - ${absenceLine(view, absence)}`);
    }
    const warning = chronicLine(view, child);
    if (warning) lines.push(`! ${warning}`);
    lines.push('');
  }
  lines.push('--', t.footer(input.school.name), `${t.unsubscribe}: ${input.unsubscribeUrl}`, '');
  return lines.join('\n');
}
