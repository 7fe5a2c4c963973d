// Turning typed column values into what each format writes, and the formula-injection guard.
import type { TenantInfo } from '../core/tenants.js';
import type { ReportColumn } from '../reports/types.js';

/**
 * A spreadsheet evaluates a cell that starts with = + - @ (and tab or CR, which some importers
 * strip before such a sign) as a formula: a student named "=HYPERLINK(...)" would run in the
 * admin's Excel. Prefixing an apostrophe makes it plain text (OWASP's CSV injection advice).
 * Only text columns pass through here: numbers, money and dates are written by us from typed
 * database values, and a negative amount must stay a number.
 */
export function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

export function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

export interface DocumentInfo {
  title: string;
  tenant: TenantInfo;
  columns: readonly ReportColumn[];
  /** Label/value pairs describing the filters, for the PDF header and the XLSX filter sheet. */
  filters: [string, string][];
  generatedAt: Date;
  /** Data rows to come, when counted up front (PDF, for "Page X of Y" without buffering pages). */
  totalRows?: number;
}

/** Writes rows in one format; `finish` ends the output stream. */
export interface RowWriter {
  write(row: Record<string, unknown>): Promise<void>;
  finish(): Promise<void>;
}

/** Fraction digits of a currency (JPY 0, USD 2, BHD 3), so money formats match the currency. */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits as number;
  } catch {
    return 2;
  }
}

export function formatMoney(value: unknown, tenant: TenantInfo): string {
  if (value === null || value === undefined || value === '') return '';
  try {
    return new Intl.NumberFormat(tenant.locale, { style: 'currency', currency: tenant.currency }).format(
      Number(value),
    );
  } catch {
    return `${value} ${tenant.currency}`;
  }
}

/** Human text for PDF cells. */
export function displayValue(column: ReportColumn, value: unknown, tenant: TenantInfo): string {
  if (value === null || value === undefined) return '';
  switch (column.type) {
    case 'money':
      return formatMoney(value, tenant);
    case 'percent':
      return `${Number(value).toFixed(1)}%`;
    case 'number':
      return new Intl.NumberFormat(tenant.locale).format(Number(value));
    default:
      return textOf(value);
  }
}

/** One line per generation time, in the tenant's zone: what the filter sheet and PDF header show. */
export function generatedLabel(at: Date, tenant: TenantInfo): string {
  const local = new Intl.DateTimeFormat('en-CA', {
    timeZone: tenant.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(at);
  return `${local.replace(',', '')} (${tenant.timeZone})`;
}
