// The HTML part. Mail clients (Outlook above all) ignore stylesheets and flexbox, so the layout
// is nested tables of fixed width with inline styles, and the attendance bar is a one-row table
// whose cells are sized by share of days. Every value from data goes through escapeHtml.
import type { ChildFigures } from '../../jobs/digests/figures.js';
import { escapeHtml as e, safeColor } from './escape.js';
import { absenceLine, childName, chronicLine, type DigestView, rateLine } from './model.js';

const COLORS = { present: '#2E7D32', late: '#F9A825', excused: '#1E88E5', absent: '#C62828' };

function bar(child: ChildFigures): string {
  const parts = [
    [child.present, COLORS.present],
    [child.late, COLORS.late],
    [child.excused, COLORS.excused],
    [child.absent, COLORS.absent],
  ] as const;
  const total = child.schoolDays || 1;
  const cells = parts
    .filter(([count]) => count > 0)
    .map(
      ([count, color]) =>
        `<td width="${Math.max(1, Math.round((count / total) * 100))}%" style="background-color:${color};height:14px;font-size:1px;line-height:1px;">&nbsp;</td>`,
    )
    .join('');
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;"><tr>${cells}</tr></table>`;
}

function legendCell(label: string, value: string, color: string): string {
  return `<td style="padding:6px 8px 6px 0;font-size:14px;color:#333333;"><span style="display:inline-block;width:10px;height:10px;background-color:${color};"></span>&nbsp;${e(label)}: <strong>${e(value)}</strong></td>`;
}

function childBlock(view: DigestView, child: ChildFigures, accent: string): string {
  const { t, f } = view;
  const absences = child.absences.length
    ? `<p style="margin:12px 0 4px 0;font-size:14px;font-weight:bold;color:#333333;">${e(t.absencesHeading)}</p>
<ul style="margin:0;padding-left:20px;font-size:14px;color:#333333;">${child.absences.map((a) => `<li>${e(absenceLine(view, a))}</li>`).join('')}</ul>`
    : '';
  const warning = chronicLine(view, child);
  const warningBlock = warning
    ? `<p style="margin:12px 0 0 0;padding:10px;background-color:#FFF4E5;border-left:4px solid #C62828;font-size:14px;color:#5F2120;">${e(warning)}</p>`
    : '';
  return `<tr><td style="padding:16px 24px;border-top:1px solid #E0E0E0;">
<h2 style="margin:0 0 4px 0;font-size:18px;color:${accent};">${e(childName(child))}</h2>
<p style="margin:0 0 8px 0;font-size:13px;color:#666666;">${e(t.schoolDays(f.integer(child.schoolDays)))}</p>
${bar(child)}
<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>
${legendCell(t.present, f.integer(child.present), COLORS.present)}${legendCell(t.late, f.integer(child.late), COLORS.late)}${legendCell(t.excused, f.integer(child.excused), COLORS.excused)}${legendCell(t.absent, f.integer(child.absent), COLORS.absent)}
</tr></table>
<p style="margin:8px 0 0 0;font-size:14px;color:#333333;">${e(rateLine(view, child))}</p>
${absences}${warningBlock}
</td></tr>`;
}

export function renderDigestHtml(view: DigestView): string {
  const { t, input } = view;
  const primary = safeColor(input.school.primaryColor, '#1F4E79');
  const secondary = safeColor(input.school.secondaryColor, '#F2A900');
  const url = e(input.unsubscribeUrl);
  return `<!DOCTYPE html>
<html lang="${e(input.locale.tag)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${e(view.subject)}</title></head>
<body style="margin:0;padding:0;background-color:#F4F4F4;font-family:Arial,Helvetica,sans-serif;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#F4F4F4;"><tr><td align="center" style="padding:16px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:600px;max-width:100%;background-color:#FFFFFF;">
<tr><td style="padding:20px 24px;background-color:${primary};border-bottom:4px solid ${secondary};color:#FFFFFF;font-size:22px;font-weight:bold;">${e(input.school.name)}</td></tr>
<tr><td style="padding:20px 24px 8px 24px;font-size:15px;color:#333333;"><p style="margin:0 0 8px 0;">${e(t.greeting(view.guardianName))}</p><p style="margin:0;">${e(t.intro(view.periodText))}</p></td></tr>
${input.children.map((child) => childBlock(view, child, primary)).join('\n')}
<tr><td style="padding:16px 24px;border-top:1px solid #E0E0E0;font-size:12px;color:#777777;">${e(t.footer(input.school.name))}<br><a href="${url}" style="color:${primary};">${e(t.unsubscribe)}</a></td></tr>
</table></td></tr></table></body></html>
`;
}
