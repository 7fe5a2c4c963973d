// Report cards: one page per student, branded header, the term's figures and a bar chart of the
// weekly attendance rate drawn with pdfkit's vector primitives (no image library needed).
import type { Writable } from 'node:stream';
import { type DocumentInfo, displayValue, type RowWriter, textOf } from './cells.js';
import { drawFooter, drawHeader, finishPdf, openPdf, type Pdf, relieve } from './pdf-document.js';

interface Week {
  week: string;
  attended: number;
  membership: number;
}

function drawChart(
  doc: Pdf,
  weeks: Week[],
  x: number,
  y: number,
  width: number,
  height: number,
  colour: string,
) {
  doc
    .font('bold')
    .fontSize(10)
    .fillColor('#000000')
    .text('Weekly attendance', x, y - 16, { lineBreak: false });
  // Axes and gridlines at 0, 50, 90 (a common "at risk" line) and 100 percent.
  doc.lineWidth(0.5).strokeColor('#999999');
  for (const level of [0, 50, 90, 100]) {
    const ly = y + height - (level / 100) * height;
    doc
      .moveTo(x, ly)
      .lineTo(x + width, ly)
      .stroke();
    doc
      .font('body')
      .fontSize(7)
      .fillColor('#555555')
      .text(`${level}%`, x - 28, ly - 3, {
        width: 24,
        align: 'right',
        lineBreak: false,
      });
  }
  if (weeks.length === 0) {
    doc
      .fontSize(9)
      .text('No attendance recorded in this term yet.', x + 10, y + height / 2, { lineBreak: false });
    return;
  }
  const slot = width / weeks.length;
  const bar = Math.max(2, slot * 0.7);
  weeks.forEach((w, i) => {
    const rate = w.membership > 0 ? w.attended / w.membership : 0;
    const barHeight = rate * height;
    const bx = x + i * slot + (slot - bar) / 2;
    doc
      .save()
      .rect(bx, y + height - barHeight, bar, barHeight)
      .fill(rate < 0.9 ? '#C0392B' : colour)
      .restore();
    if (weeks.length <= 26 || i % 2 === 0) {
      doc
        .font('body')
        .fontSize(6)
        .fillColor('#555555')
        .text(w.week.slice(5), bx - 4, y + height + 3, {
          width: bar + 8,
          align: 'center',
          lineBreak: false,
        });
    }
  });
  doc.fillColor('#000000');
}

export function createReportCardWriter(out: Writable, info: DocumentInfo): RowWriter {
  const { tenant, columns } = info;
  const doc = openPdf(out, { title: info.title, tenant });
  const left = doc.page.margins.left;
  const usable = doc.page.width - left - doc.page.margins.right;
  let pages = 0;

  return {
    async write(row) {
      await relieve(doc, out);
      if (pages++ > 0) doc.addPage();
      drawFooter(doc, pages, Math.max(1, info.totalRows ?? pages));
      let y = drawHeader(doc, tenant, info.title, info.generatedAt);
      for (const [label, value] of info.filters) {
        doc
          .font('body')
          .fontSize(9)
          .fillColor('#333333')
          .text(`${label}: ${value}`, left, y, { width: usable });
        y = doc.y + 2;
      }
      y += 10;
      doc
        .font('bold')
        .fontSize(16)
        .fillColor('#000000')
        .text(textOf(row.display_name), left, y, { width: usable });
      y = doc.y + 2;
      doc
        .font('body')
        .fontSize(10)
        .text(`Student no. ${textOf(row.student_number)}   ·   Grade ${textOf(row.grade_level)}`, left, y);
      y = doc.y + 14;
      // Figures as a two-column list, in the template's column order after the identity columns.
      for (const column of columns.slice(3)) {
        doc.font('body').fontSize(10).fillColor('#333333').text(column.header, left, y, { width: 160 });
        doc
          .font('bold')
          .fillColor('#000000')
          .text(displayValue(column, row[column.key], tenant) || '—', left + 170, y, { width: 120 });
        y += 16;
      }
      if (row.chronic === 'Yes') {
        doc
          .font('bold')
          .fontSize(10)
          .fillColor('#C0392B')
          .text('Chronically absent under the school attendance policy.', left, y + 4, { width: usable });
        doc.fillColor('#000000');
      }
      y += 48;
      drawChart(doc, (row.weeks as Week[] | null) ?? [], left + 32, y, usable - 40, 180, tenant.primaryColor);
    },
    async finish() {
      if (pages === 0) {
        drawFooter(doc, 1, 1);
        drawHeader(doc, tenant, info.title, info.generatedAt);
        doc.font('body').fontSize(11).text('No students match these filters.', left, 120);
      }
      await finishPdf(doc, out);
    },
  };
}
