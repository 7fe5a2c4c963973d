// The parts every PDF shares: a font that renders accents, the school's header band in its
// primary colour, and "Page X of Y" footers. The page count is known before the first page (the
// export counts its rows first, see render.ts), so pages are streamed out as they are drawn
// instead of being buffered: 5,000 report cards would otherwise hold about a gigabyte.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import PDFDocument from 'pdfkit';
import type { TenantInfo } from '../core/tenants.js';
import { generatedLabel } from './cells.js';

// DejaVu covers Latin, Greek, Cyrillic and currency signs such as ₹; pdfkit's built-in Helvetica
// only WinAnsi (Latin-1), which is the fallback when the Debian font package is absent.
const FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu'];

export interface Fonts {
  regular: string;
  bold: string;
}

export function openPdf(out: Writable, options: { landscape?: boolean; title: string; tenant: TenantInfo }) {
  const doc = new PDFDocument({
    size: 'A4',
    layout: options.landscape ? 'landscape' : 'portrait',
    margins: { top: 36, bottom: 40, left: 36, right: 36 },
    info: { Title: options.title, Author: options.tenant.name, Creator: 'school-jobs-engine' },
  });
  doc.pipe(out);
  const dir = FONT_DIRS.find(
    (d) => existsSync(`${d}/DejaVuSans.ttf`) && existsSync(`${d}/DejaVuSans-Bold.ttf`),
  );
  const fonts: Fonts = dir
    ? { regular: `${dir}/DejaVuSans.ttf`, bold: `${dir}/DejaVuSans-Bold.ttf` }
    : { regular: 'Helvetica', bold: 'Helvetica-Bold' };
  doc.registerFont('body', fonts.regular);
  doc.registerFont('bold', fonts.bold);
  doc.font('body');
  return doc;
}

export type Pdf = ReturnType<typeof openPdf>;

/** The band at the top of a page: school name on its primary colour, then the report title. */
export function drawHeader(doc: Pdf, tenant: TenantInfo, title: string, generatedAt: Date): number {
  const { left, top } = doc.page.margins;
  const width = doc.page.width - left - doc.page.margins.right;
  doc.save().rect(left, top, width, 34).fill(tenant.primaryColor).restore();
  doc
    .font('bold')
    .fontSize(15)
    .fillColor('#FFFFFF')
    .text(tenant.name, left + 10, top + 9, {
      width: width - 20,
      height: 20,
      ellipsis: true,
      lineBreak: false,
    });
  doc
    .font('bold')
    .fontSize(12)
    .fillColor('#000000')
    .text(title, left, top + 42, { width, lineBreak: false });
  doc
    .font('body')
    .fontSize(8)
    .fillColor('#555555')
    .text(`Generated ${generatedLabel(generatedAt, tenant)}`, left, top + 44, {
      width,
      align: 'right',
      lineBreak: false,
    });
  doc.fillColor('#000000');
  return top + 60;
}

/** "Page X of Y" at the foot of the current page; call it when the page is opened. */
export function drawFooter(doc: Pdf, page: number, pages: number): void {
  const { x, y } = doc;
  const bottom = doc.page.margins.bottom;
  // Writing below the bottom margin would make pdfkit open a new page; lift the margin briefly.
  doc.page.margins.bottom = 0;
  doc
    .font('body')
    .fontSize(8)
    .fillColor('#555555')
    .text(`Page ${page} of ${pages}`, doc.page.margins.left, doc.page.height - 28, {
      width: doc.page.width - doc.page.margins.left - doc.page.margins.right,
      align: 'center',
      lineBreak: false,
    });
  doc.page.margins.bottom = bottom;
  doc.fillColor('#000000');
  doc.x = x;
  doc.y = y;
}

const BACKLOG_BYTES = 1 << 20;

/**
 * pdfkit keeps producing while its output is full (it ignores push()'s backpressure), so its
 * readable buffer would grow with the document. Writers call this between pages or rows: it
 * waits for the output to drain once more than a megabyte is waiting.
 */
export async function relieve(doc: Pdf, out: Writable): Promise<void> {
  while (doc.readableLength > BACKLOG_BYTES && out.writableNeedDrain) await once(out, 'drain');
}

/** End the document and wait until the output has taken all of it. */
export async function finishPdf(doc: Pdf, out: Writable): Promise<void> {
  doc.end();
  await finished(out, { readable: false });
}
