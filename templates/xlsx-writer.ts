// XLSX through exceljs's streaming WorkbookWriter: rows are committed as they come, so memory does
// not grow with the row count. Typed cells (dates as dates, numbers as numbers, money with the
// tenant's currency format, percentages as fractions with a % format), a bold frozen header with
// an autofilter, and a second sheet with the filters and the generation time.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { TenantInfo } from '../core/tenants.js';
import type { ReportColumn } from '../reports/types.js';
import {
  currencyDigits,
  type DocumentInfo,
  generatedLabel,
  neutraliseFormula,
  type RowWriter,
  textOf,
} from './cells.js';

const SYMBOLS: Record<string, string> = {
  USD: '$',
  EUR: '€',
  GBP: '£',
  INR: '₹',
  JPY: '¥',
  CAD: 'CA$',
  AUD: 'A$',
  CHF: 'CHF ',
};

/** An Excel number format for the tenant's currency: "€"#,##0.00 or #,##0.00 "XYZ". */
export function moneyFormat(currency: string): string {
  const digits = currencyDigits(currency);
  const number = digits > 0 ? `#,##0.${'0'.repeat(digits)}` : '#,##0';
  const symbol = SYMBOLS[currency];
  const positive = symbol ? `"${symbol}"${number}` : `${number} "${currency}"`;
  return `${positive};-${positive}`;
}

function numFmt(column: ReportColumn, tenant: TenantInfo): string | undefined {
  switch (column.type) {
    case 'date':
      return 'yyyy-mm-dd';
    case 'money':
      return moneyFormat(tenant.currency);
    case 'percent':
      return '0.0%';
    case 'number':
      return '#,##0.##';
    default:
      return undefined;
  }
}

function cellValue(column: ReportColumn, value: unknown): ExcelJS.CellValue {
  if (value === null || value === undefined || value === '') return null;
  switch (column.type) {
    case 'date':
      // Calendar dates at UTC midnight: exceljs converts with UTC, so the day never shifts.
      return value instanceof Date ? value : new Date(`${String(value).slice(0, 10)}T00:00:00Z`);
    case 'money':
    case 'number':
      return Number(value);
    case 'percent':
      return Number(value) / 100;
    default:
      return neutraliseFormula(textOf(value));
  }
}

function columnWidth(column: ReportColumn): number {
  const byType = { text: 16, date: 12, number: 10, money: 14, percent: 10 }[column.type];
  return Math.min(60, Math.max(column.width ?? byType, column.header.length + 2));
}

/** Rows committed between two yields to the event loop (see write). */
const YIELD_EVERY = 500;

export function createXlsxWriter(out: Writable, info: DocumentInfo): RowWriter {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useStyles: true,
    // Inline strings: shared strings would keep every distinct value in memory until the end.
    useSharedStrings: false,
  });
  workbook.creator = info.tenant.name;
  workbook.created = info.generatedAt;
  const sheet = workbook.addWorksheet(info.title.slice(0, 31), {
    views: [{ state: 'frozen', xSplit: 0, ySplit: 1 }],
  });
  const { columns, tenant } = info;
  sheet.columns = columns.map((column) => {
    const format = numFmt(column, tenant);
    return {
      key: column.key,
      width: columnWidth(column),
      ...(format ? { style: { numFmt: format } } : {}),
    };
  });
  sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: columns.length } };
  const header = sheet.addRow(columns.map((c) => neutraliseFormula(c.header)));
  header.font = { bold: true };
  header.commit();

  let sinceYield = 0;
  return {
    async write(row) {
      const values = columns.map((column) => cellValue(column, row[column.key]));
      sheet.addRow(values).commit();
      // exceljs commits rows into its zip stream without backpressure, and deflate runs off the
      // main thread: every YIELD_EVERY rows let the compressed output reach the file, and wait
      // while the file stream is full, so a fast cursor cannot pile the workbook up in memory.
      if (++sinceYield < YIELD_EVERY) return;
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (out.writableNeedDrain) await once(out, 'drain');
    },
    async finish() {
      sheet.commit();
      const filters = workbook.addWorksheet('Filters');
      filters.columns = [{ width: 24 }, { width: 48 }];
      const head = filters.addRow(['Filter', 'Value']);
      head.font = { bold: true };
      head.commit();
      filters.addRow(['Report', neutraliseFormula(info.title)]).commit();
      filters.addRow(['School', neutraliseFormula(tenant.name)]).commit();
      for (const [label, value] of info.filters)
        filters.addRow([neutraliseFormula(label), neutraliseFormula(value)]).commit();
      filters.addRow(['Generated', generatedLabel(info.generatedAt, tenant)]).commit();
      const utc = filters.addRow(['Generated at (UTC)', info.generatedAt]);
      utc.getCell(2).numFmt = 'yyyy-mm-dd hh:mm:ss';
      utc.commit();
      filters.commit();
      await workbook.commit();
    },
  };
}
