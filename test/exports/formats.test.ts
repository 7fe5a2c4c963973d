// Every template in every format, opened the way a person's software would: CSV parsed back and
// compared with the database, XLSX re-read with exceljs, PDF text extracted with pdftotext.
import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportTemplates } from '../../reports/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import {
  ACCENTED,
  type ExportFixture,
  exportFile,
  FORMULA,
  parseCsv,
  pdfText,
  setUpExportData,
} from './helpers.js';

let database: TestDatabase;
let fx: ExportFixture;
const RANGE = { from: '2026-02-01', to: '2026-03-16' };

beforeAll(async () => {
  database = await createTestDatabase();
  fx = await setUpExportData(database);
});
afterAll(() => database.drop());

function filtersFor(id: string): Record<string, unknown> {
  return id === 'attendance-report' || id === 'attendance-summary' ? RANGE : {};
}

async function loadXlsx(content: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(content as unknown as ArrayBuffer);
  return workbook;
}

describe('every template in every format', () => {
  it('produces a file whose data rows match the row count and the columns', async () => {
    for (const template of reportTemplates) {
      for (const format of template.formats) {
        const { result, content } = await exportFile(
          database,
          fx,
          fx.tenantA,
          template.id,
          format,
          filtersFor(template.id),
        );
        const label = `${template.id}.${format}`;
        expect(result.status, label).toBe('completed');
        expect(result.rows, label).toBeGreaterThan(0);
        if (format === 'csv') {
          const rows = parseCsv(content.toString('utf8').replace(/^\uFEFF/, ''));
          expect(rows[0], label).toEqual(template.columns.map((c) => c.header));
          expect(rows.length - 1, label).toBe(result.rows);
        } else if (format === 'xlsx') {
          const sheet = (await loadXlsx(content)).worksheets[0]!;
          expect(sheet.actualRowCount - 1, label).toBe(result.rows);
        } else {
          expect(content.subarray(0, 5).toString(), label).toBe('%PDF-');
          expect(await pdfText(content, fx.dir), label).toMatch(/Page 1 of \d+/);
        }
      }
    }
  });
});

describe('CSV', () => {
  it('is UTF-8 with a BOM, RFC 4180 quoted, and equal to the database rows', async () => {
    const { content, result } = await exportFile(database, fx, fx.tenantA, 'attendance-report', 'csv', RANGE);
    expect([...content.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = content.toString('utf8');
    expect(text).toContain('\r\n');
    const [header, ...rows] = parseCsv(text.slice(1));
    expect(header![0]).toBe('Date');
    const { rows: expected } = await sql<{ d: string; student_number: string; status: string }>`
      SELECT attendance_date AS d, s.student_number, a.status
      FROM attendance a JOIN students s ON s.tenant_id = a.tenant_id AND s.id = a.student_id
      WHERE a.tenant_id = ${fx.tenantA} AND attendance_date BETWEEN ${RANGE.from} AND ${RANGE.to}
      ORDER BY attendance_date, a.student_id, a.period`.execute(database.db);
    expect(rows.length).toBe(expected.length);
    expect(result.rows).toBe(expected.length);
    expect(rows.map((r) => [r[0], r[3], r[5]])).toEqual(
      expected.map((e) => [e.d, e.student_number, e.status]),
    );
    // Accents and an apostrophe survive; a name with a comma is quoted and parses back whole.
    expect(rows.some((r) => r[4] === `${ACCENTED.last}, ${ACCENTED.first}`)).toBe(true);
    expect(text).toContain(`"${ACCENTED.last}, ${ACCENTED.first}"`);
  });

  it('neutralises cells that start with = + - @ so spreadsheets never evaluate them', async () => {
    const { content } = await exportFile(database, fx, fx.tenantA, 'attendance-report', 'csv', RANGE);
    const rows = parseCsv(content.toString('utf8').slice(1));
    const names = rows.map((r) => r[4]!);
    expect(names).toContain(`'${FORMULA}, Evil`);
    expect(names.some((n) => n.startsWith('='))).toBe(false);
    const reasons = rows.map((r) => r[6]!);
    expect(reasons).toContain("'@SUM(A1:A9)");
    expect(reasons.some((r) => /^[=+\-@]/.test(r))).toBe(false);
  });
});

describe('XLSX', () => {
  it('has typed cells, a bold frozen header with an autofilter, widths and a filter sheet', async () => {
    const { content, result } = await exportFile(
      database,
      fx,
      fx.tenantA,
      'attendance-report',
      'xlsx',
      RANGE,
    );
    const workbook = await loadXlsx(content);
    const sheet = workbook.getWorksheet('Attendance report')!;
    expect(sheet).toBeDefined();
    const header = sheet.getRow(1);
    expect(header.getCell(1).value).toBe('Date');
    expect(header.getCell(1).font?.bold).toBe(true);
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(sheet.autoFilter).toBeTruthy();
    expect(sheet.getColumn(5).width).toBeGreaterThanOrEqual(20);
    const first = sheet.getRow(2);
    expect(first.getCell(1).value).toBeInstanceOf(Date);
    const { rows: firstDay } = await sql<{ d: string }>`
      SELECT min(attendance_date) AS d FROM attendance
      WHERE tenant_id = ${fx.tenantA} AND attendance_date >= ${RANGE.from}`.execute(database.db);
    expect((first.getCell(1).value as Date).toISOString().slice(0, 10)).toBe(firstDay[0]!.d);
    expect(typeof first.getCell(2).value).toBe('number');
    expect(sheet.actualRowCount - 1).toBe(result.rows);

    const names: string[] = [];
    sheet.eachRow((row, n) => {
      if (n > 1) names.push(String(row.getCell(5).value));
    });
    expect(names).toContain(`${ACCENTED.last}, ${ACCENTED.first}`);
    expect(names).toContain(`'${FORMULA}, Evil`);
    expect(names.some((n) => n.startsWith('='))).toBe(false);

    const filters = workbook.getWorksheet('Filters')!;
    const pairs = new Map<string, unknown>();
    filters.eachRow((row) => pairs.set(String(row.getCell(1).value), row.getCell(2).value));
    expect(pairs.get('From')).toBe(RANGE.from);
    expect(pairs.get('To')).toBe(RANGE.to);
    expect(pairs.get('School')).toBe('École Sainte-Hélène');
    expect(String(pairs.get('Generated'))).toMatch(/^2026-03-16 08:00/);
  });

  it('writes money as numbers with the tenant currency format and rates as percentages', async () => {
    const ledger = await loadXlsx(
      (await exportFile(database, fx, fx.tenantA, 'payment-ledger', 'xlsx')).content,
    );
    const amount = ledger.worksheets[0]!.getRow(2).getCell(7);
    expect(typeof amount.value).toBe('number');
    expect(amount.numFmt).toContain('€');
    const summary = await loadXlsx(
      (await exportFile(database, fx, fx.tenantA, 'attendance-summary', 'xlsx', RANGE)).content,
    );
    const rate = summary.worksheets[0]!.getRow(2).getCell(9);
    expect(rate.numFmt).toContain('%');
    expect(rate.value as number).toBeGreaterThan(0);
    expect(rate.value as number).toBeLessThanOrEqual(1);
  });
});

describe('PDF', () => {
  it('shows the school, the filters, accents, a header on every page and "Page X of Y"', async () => {
    const { content } = await exportFile(database, fx, fx.tenantA, 'attendance-report', 'pdf', RANGE);
    const text = await pdfText(content, fx.dir);
    const pages = text.split('\f').filter((p) => p.trim().length > 0);
    expect(pages.length).toBeGreaterThan(2);
    pages.forEach((page, i) => {
      expect(page).toContain('École Sainte-Hélène');
      expect(page).toMatch(/Date\s+Period\s+Class\s+Student no\./);
      expect(page).toContain(`Page ${i + 1} of ${pages.length}`);
    });
    expect(pages[0]).toContain(`From: ${RANGE.from}`);
    expect(text).toContain(`${ACCENTED.last}, ${ACCENTED.first}`);
  });

  it('report cards: one page per active student with figures and a chart', async () => {
    const { content, result } = await exportFile(database, fx, fx.tenantA, 'report-card', 'pdf');
    const text = await pdfText(content, fx.dir);
    const pages = text.split('\f').filter((p) => p.trim().length > 0);
    const { rows } = await sql<{ n: number }>`
      SELECT count(*) AS n FROM students WHERE tenant_id = ${fx.tenantA} AND status = 'active' AND deleted_at IS NULL`.execute(
      database.db,
    );
    expect(result.rows).toBe(rows[0]!.n);
    expect(pages.length).toBe(rows[0]!.n);
    const zoe = pages.find((p) => p.includes(`${ACCENTED.first} ${ACCENTED.last}`));
    expect(zoe).toBeDefined();
    expect(zoe).toContain('Weekly attendance');
    expect(zoe).toMatch(/Term: 2025-26 Semester 2/);
    expect(zoe).toMatch(/Page \d+ of \d+/);
  });
});
