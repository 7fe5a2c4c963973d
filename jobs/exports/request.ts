// Validating an export request, the same way for the API, the CLI and the job itself: a known
// template and format, filters of the right types, a date range in order and within
// EXPORT_MAX_RANGE_DAYS, and ids that belong to the requesting school (checked under its RLS, so
// another school's class id is simply "not found"). Any failure is an InputError naming the field,
// raised before anything is written or enqueued.
import { localDate } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import type { Db } from '../../core/db.js';
import { InputError } from '../../core/errors.js';
import { withTenant } from '../../core/tenant-scope.js';
import { getTenant } from '../../core/tenants.js';
import { checkRange } from '../../reports/filters.js';
import { findTemplate } from '../../reports/index.js';
import {
  EXPORT_FORMATS,
  type ExportFormat,
  type Filters,
  type ReportTemplate,
  type TemplateEnv,
} from '../../reports/types.js';
import { attendancePolicyFrom } from '../attendance/policy.js';

export interface ExportRequest {
  template: unknown;
  format: unknown;
  filters?: unknown;
}

export interface PreparedExport {
  template: ReportTemplate;
  format: ExportFormat;
  /** The filters as stored on the exports row: the request's, with defaults that need the database resolved. */
  filters: Filters;
  /** What the query runs with (may carry resolved extras such as a term's dates). */
  prepared: Filters;
  env: TemplateEnv;
}

/** The tenant's calendar date at `now`, in its own time zone. */
export function checkShape(request: ExportRequest): {
  template: ReportTemplate;
  format: ExportFormat;
  filters: Filters;
} {
  const template = findTemplate(request.template);
  if (!EXPORT_FORMATS.includes(request.format as ExportFormat)) {
    throw new InputError(
      `unknown format ${JSON.stringify(request.format)}; choose one of ${EXPORT_FORMATS.join(', ')}`,
      'format',
    );
  }
  const format = request.format as ExportFormat;
  if (!template.formats.includes(format)) {
    throw new InputError(`${template.id} is available as ${template.formats.join(', ')} only`, 'format');
  }
  const raw = request.filters ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InputError('must be an object of filter values', 'filters');
  }
  const parsed = template.filters.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
    const field = keys.length > 0 ? `filters.${keys[0]}` : ['filters', ...issue.path].join('.');
    const known = Object.keys(template.filterHelp).join(', ') || 'none';
    throw new InputError(
      keys.length > 0 ? `is not a filter of ${template.id} (its filters: ${known})` : issue.message,
      field,
    );
  }
  return { template, format, filters: parsed.data };
}

export async function prepareExport(
  db: Db,
  tenantId: string,
  request: ExportRequest,
  options: { config: Config; now: Date },
): Promise<PreparedExport> {
  const { template, format, filters } = checkShape(request);
  checkRange(
    filters.from as string | undefined,
    filters.to as string | undefined,
    options.config.EXPORT_MAX_RANGE_DAYS,
  );
  const tenant = await getTenant(db, tenantId);
  const env: TemplateEnv = {
    tenant,
    policy: attendancePolicyFrom(tenant.settings),
    today: localDate(options.now, tenant.timeZone),
  };
  const prepared = template.prepare
    ? await withTenant(db, tenantId, (trx) => template.prepare!(trx, filters, env))
    : filters;
  // Store only public filter keys: a re-run validates them again with the strict schema.
  const stored = Object.fromEntries(
    Object.entries(prepared).filter(([key, value]) => key in template.filterHelp && value !== undefined),
  );
  return { template, format, filters: stored, prepared, env };
}
