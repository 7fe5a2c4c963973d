// What an export template is: a query, typed columns and a filter schema. Formats (CSV, XLSX, PDF)
// are rendered from the column types by templates/*, so a template never formats anything itself.
import type { RawBuilder } from 'kysely';
import type { z } from 'zod';
import type { TenantTransaction } from '../core/tenant-scope.js';
import type { TenantInfo } from '../core/tenants.js';
import type { AttendancePolicy } from '../jobs/attendance/policy.js';

export const EXPORT_FORMATS = ['csv', 'xlsx', 'pdf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * How a value is typed in every format. Values arrive as the db layer parses them: date as
 * 'YYYY-MM-DD', money and percent as numeric strings (percent on a 0-100 scale), number as a
 * number or numeric string, text as a string or null.
 */
export type ColumnType = 'text' | 'date' | 'number' | 'money' | 'percent';

export interface ReportColumn {
  key: string;
  header: string;
  type: ColumnType;
  /** Width hint in characters (XLSX column width, PDF share of the line). */
  width?: number;
}

/** What a template's query may depend on besides its filters. */
export interface TemplateEnv {
  tenant: TenantInfo;
  policy: AttendancePolicy;
  /** The tenant's local calendar date when the export runs. */
  today: string;
}

export type Filters = Record<string, unknown>;

export interface ReportTemplate<F extends Filters = Filters> {
  id: string;
  title: string;
  description: string;
  formats: readonly ExportFormat[];
  /** A strict zod object: unknown filter keys are refused, not silently ignored. */
  filters: z.ZodType<F>;
  /** Filter key -> one line for `export --list` and GET /api/exports/templates. */
  filterHelp: Record<string, string>;
  /**
   * Checks the database must answer (a class of this school) and defaults that need it (the
   * current term), run under the tenant's RLS. Returns the filters the query will use.
   */
  prepare?(trx: TenantTransaction, filters: F, env: TemplateEnv): Promise<F>;
  columns: readonly ReportColumn[];
  /** The rows, in order; streamed through a server-side cursor inside the tenant transaction. */
  query(filters: F, env: TemplateEnv): RawBuilder<Record<string, unknown>>;
  /** A layout of its own instead of the PDF table (report cards). */
  pdfLayout?: 'table' | 'report-card';
}

/** Declare a template with its filter type, stored in the registry with the type erased. */
export function defineTemplate<F extends Filters>(template: ReportTemplate<F>): ReportTemplate {
  return template as unknown as ReportTemplate;
}
