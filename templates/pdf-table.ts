// A PDF table report: header band, filter summary, and a table whose header row repeats on every
// page. Column widths are shared out by the columns' width hints; landscape when they are wide.
// PDFs are for reading, not for millions of rows: the job stops at EXPORT_PDF_MAX_ROWS.
import type { Writable } from 'node:stream';
import type { ReportColumn } from '../reports/types.js';
import { type DocumentInfo, displayValue, type RowWriter } from './cells.js';
import { drawFooter, drawHeader, finishPdf, openPdf, type Pdf, relieve } from './pdf-document.js';

const FONT_SIZE = 8;
const ROW_HEIGHT = 14;
const PAD = 3;

export function createPdfTableWriter(out: Writable, info: DocumentInfo): RowWriter {
  const { columns, tenant } = info;
  const hint = (c: ReportColumn) => c.width ?? 12;
  const landscape = columns.reduce((sum, c) => sum + hint(c), 0) > 100;
  const doc = openPdf(out, { landscape, title: info.title, tenant });
  const left = doc.page.margins.left;
  const usable = doc.page.width - left - doc.page.margins.right;
  const totalHint = columns.reduce((sum, c) => sum + hint(c), 0);
  const widths = columns.map((c) => (hint(c) / totalHint) * usable);
  const bottom = () => doc.page.height - doc.page.margins.bottom - ROW_HEIGHT;
  let y = 0;
  let shade = false;
  let page = 0;
  let pages = 1;

  function drawRow(doc: Pdf, cells: string[], bold: boolean): void {
    let x = left;
    doc.font(bold ? 'bold' : 'body').fontSize(FONT_SIZE);
    for (let i = 0; i < cells.length; i++) {
      const column = columns[i]!;
      const numeric = column.type !== 'text' && column.type !== 'date';
      doc.text(cells[i]!, x + PAD, y + PAD, {
        width: widths[i]! - 2 * PAD,
        height: ROW_HEIGHT - PAD,
        ellipsis: true,
        lineBreak: false,
        align: numeric && !bold ? 'right' : 'left',
      });
      x += widths[i]!;
    }
    y += ROW_HEIGHT;
  }

  function tableHeader(): void {
    doc.save().rect(left, y, usable, ROW_HEIGHT).fill('#E6E6E6').restore();
    doc.fillColor('#000000');
    drawRow(
      doc,
      columns.map((c) => c.header),
      true,
    );
    doc
      .moveTo(left, y)
      .lineTo(left + usable, y)
      .lineWidth(0.5)
      .strokeColor(tenant.primaryColor)
      .stroke();
  }

  /** Rows that fit on a page whose table starts at `top`: rows are written while y <= bottom(). */
  const capacity = (top: number) => Math.max(1, Math.floor((bottom() - top) / ROW_HEIGHT) + 1);

  function newPage(first: boolean): void {
    if (!first) doc.addPage();
    page++;
    y = drawHeader(doc, tenant, info.title, info.generatedAt);
    if (first && info.filters.length > 0) {
      const summary = info.filters.map(([label, value]) => `${label}: ${value}`).join('   ·   ');
      doc.font('body').fontSize(8).fillColor('#333333').text(summary, left, y, { width: usable });
      y = doc.y + 6;
      doc.fillColor('#000000');
    }
    tableHeader();
    if (first) {
      // Later pages have no filter summary, so their table starts where this header band ends.
      const firstRows = capacity(y);
      const laterRows = capacity(drawnHeaderBottom + ROW_HEIGHT);
      const rows = info.totalRows ?? 0;
      pages = rows <= firstRows ? 1 : 1 + Math.ceil((rows - firstRows) / laterRows);
    }
    drawFooter(doc, page, pages);
  }

  const drawnHeaderBottom = doc.page.margins.top + 60;
  newPage(true);
  return {
    async write(row) {
      if (y > bottom()) {
        await relieve(doc, out);
        newPage(false);
      }
      if (shade) doc.save().rect(left, y, usable, ROW_HEIGHT).fill('#F5F5F5').restore();
      shade = !shade;
      doc.fillColor('#000000');
      drawRow(
        doc,
        columns.map((c) => displayValue(c, row[c.key], tenant)),
        false,
      );
    },
    async finish() {
      await finishPdf(doc, out);
    },
  };
}
