// Filter building blocks shared by the templates, and the checks that need more than a schema:
// a date range in the right order and not longer than EXPORT_MAX_RANGE_DAYS, a class or term that
// belongs to the requesting school. Every failure is an InputError naming the filter.
import { sql } from 'kysely';
import { z } from 'zod';
import { daysBetween, isCalendarDate } from '../core/dates.js';
import { InputError } from '../core/errors.js';
import type { TenantTransaction } from '../core/tenant-scope.js';

export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(isCalendarDate, 'is not a calendar date');

export const uuid = z.uuid({ message: 'must be a UUID' });

export function checkRange(from: string | undefined, to: string | undefined, maxDays: number): void {
  if (!from || !to) return;
  if (to < from) throw new InputError(`(${to}) is before from (${from}); swap them`, 'filters.to');
  const days = daysBetween(from, to) + 1;
  if (days > maxDays) {
    throw new InputError(
      `the range ${from}..${to} is ${days} days; the maximum is ${maxDays} (EXPORT_MAX_RANGE_DAYS): ask for a shorter range`,
      'filters.to',
    );
  }
}

/** The class must be visible under the tenant's RLS, which is exactly "belongs to this school". */
export async function checkClass(trx: TenantTransaction, classId: string | undefined): Promise<void> {
  if (!classId) return;
  const { rows } = await sql`SELECT 1 FROM classes WHERE id = ${classId}`.execute(trx);
  if (rows.length === 0) throw new InputError(`no class ${classId} in this school`, 'filters.classId');
}

export async function className(trx: TenantTransaction, classId: string | undefined): Promise<string> {
  if (!classId) return 'all classes';
  const { rows } = await sql<{ name: string; class_code: string }>`
    SELECT name, class_code FROM classes WHERE id = ${classId}`.execute(trx);
  return rows[0] ? `${rows[0].name} (${rows[0].class_code})` : classId;
}
