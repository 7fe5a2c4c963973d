// Streaming a template's rows into a format writer, inside one tenant-scoped transaction (RLS role
// school_app): a server-side cursor (DECLARE ... FETCH n) hands rows over a batch at a time, so
// memory stays flat whatever the row count, and a template query that forgot its tenant filter
// still sees only the requesting school.
import type { Writable } from 'node:stream';
import { type RawBuilder, sql } from 'kysely';
import type { Config } from '../../core/config.js';
import type { Db } from '../../core/db.js';
import { InputError } from '../../core/errors.js';
import { type TenantTransaction, withTenant } from '../../core/tenant-scope.js';
import { className } from '../../reports/filters.js';
import type { ExportFormat, Filters, ReportTemplate, TemplateEnv } from '../../reports/types.js';
import type { DocumentInfo, RowWriter } from '../../templates/cells.js';
import { createCsvWriter } from '../../templates/csv-writer.js';
import { createPdfTableWriter } from '../../templates/pdf-table.js';
import { createReportCardWriter } from '../../templates/report-card-pdf.js';
import { createXlsxWriter } from '../../templates/xlsx-writer.js';

export async function* cursorRows(
  trx: TenantTransaction,
  query: RawBuilder<Record<string, unknown>>,
  batchSize: number,
): AsyncGenerator<Record<string, unknown>[]> {
  // An export reads every row, so plan for the whole result like COPY does. PostgreSQL's default
  // cursor_tuple_fraction (0.1) plans a cursor for its first rows (nested loops, index scans),
  // which on a 1,000,000-row attendance report spent most of the export's time in the database.
  await sql`SET LOCAL cursor_tuple_fraction = 1.0`.execute(trx);
  await sql`DECLARE export_rows NO SCROLL CURSOR FOR ${query}`.execute(trx);
  const fetch = sql<
    Record<string, unknown>
  >`FETCH ${sql.raw(String(Math.trunc(batchSize)))} FROM export_rows`;
  // The next FETCH is sent before the current batch is handed over, so PostgreSQL produces batch
  // n+1 while the writer formats batch n (at most two batches in memory). If the consumer stops
  // early, the in-flight FETCH completes or fails on the same connection before the rollback.
  let next = fetch.execute(trx);
  for (;;) {
    const { rows } = await next;
    const more = rows.length >= batchSize;
    if (more) {
      next = fetch.execute(trx);
      next.catch(() => {});
    }
    if (rows.length > 0) yield rows;
    if (!more) break;
  }
  await sql`CLOSE export_rows`.execute(trx);
}

export function createWriter(
  format: ExportFormat,
  template: ReportTemplate,
  out: Writable,
  info: DocumentInfo,
): RowWriter {
  if (format === 'csv') return createCsvWriter(out, info);
  if (format === 'xlsx') return createXlsxWriter(out, info);
  return template.pdfLayout === 'report-card'
    ? createReportCardWriter(out, info)
    : createPdfTableWriter(out, info);
}

const LABELS: Record<string, string> = {
  from: 'From',
  to: 'To',
  classId: 'Class',
  status: 'Status',
  role: 'Role',
  termId: 'Term',
  asOf: 'As of',
};

/** Filter label/value pairs for people: class and term by name, defaults spelled out. */
export async function describeFilters(
  trx: TenantTransaction,
  template: ReportTemplate,
  filters: Filters,
  env: TemplateEnv,
): Promise<[string, string][]> {
  const pairs: [string, string][] = [];
  for (const key of Object.keys(template.filterHelp)) {
    const value = filters[key];
    const label = LABELS[key] ?? key;
    if (key === 'classId') pairs.push([label, await className(trx, value as string | undefined)]);
    else if (key === 'termId' && filters.term) {
      const term = filters.term as { name: string; from: string; to: string };
      pairs.push([label, `${term.name} (${term.from} to ${term.to})`]);
    } else if (key === 'asOf') pairs.push([label, String(value ?? env.today)]);
    else if (value !== undefined) pairs.push([label, String(value)]);
  }
  return pairs;
}

export interface RenderOptions {
  tenantId: string;
  template: ReportTemplate;
  format: ExportFormat;
  /** Prepared filters (see prepareExport). */
  filters: Filters;
  env: TemplateEnv;
  config: Config;
  generatedAt: Date;
  /** Called after each fetched batch with the rows written so far; may throw to stop the export. */
  onBatch?(rows: number): Promise<void>;
}

/** Write the whole report to `out` (and end it); returns the number of data rows written. */
export async function renderExport(db: Db, out: Writable, options: RenderOptions): Promise<number> {
  const { template, format, filters, env, config } = options;
  return withTenant(db, options.tenantId, async (trx) => {
    const info: DocumentInfo = {
      title: template.title,
      tenant: env.tenant,
      columns: template.columns,
      filters: await describeFilters(trx, template, filters, env),
      generatedAt: options.generatedAt,
    };
    // A PDF needs its page count before the first page ("Page X of Y" without buffering every
    // page), so its query carries the total on each row. count(*) OVER () over the ordered
    // subquery keeps its order in PostgreSQL and counts in the same snapshot as the rows.
    const counted = format === 'pdf';
    const query = template.query(filters, env);
    const source = counted
      ? sql<Record<string, unknown>>`
      SELECT q.*, count(*) OVER () AS export_total_rows FROM (${query}) q`
      : query;
    const limit = counted ? config.EXPORT_PDF_MAX_ROWS : Number.POSITIVE_INFINITY;
    let writer: RowWriter | undefined;
    let rows = 0;
    for await (const batch of cursorRows(trx, source, config.EXPORT_FETCH_ROWS)) {
      if (!writer) {
        const total = counted ? Number(batch[0]!.export_total_rows) : undefined;
        if (total !== undefined && total > limit) {
          throw new InputError(
            `this report has ${total} rows, more than ${limit} for a PDF (EXPORT_PDF_MAX_ROWS); ask for csv or xlsx, or narrow the filters`,
            'format',
          );
        }
        writer = createWriter(format, template, out, { ...info, totalRows: total });
      }
      for (const row of batch) await writer.write(row);
      rows += batch.length;
      await options.onBatch?.(rows);
    }
    writer ??= createWriter(format, template, out, { ...info, totalRows: 0 });
    await writer.finish();
    return rows;
  });
}
