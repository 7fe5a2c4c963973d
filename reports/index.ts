// The export templates, as listed by the API and `npm run cli -- export --list`.
import { InputError } from '../core/errors.js';
import { attendanceReport } from './attendance-report.js';
import { attendanceSummary } from './attendance-summary.js';
import { classEnrollment } from './class-enrollment.js';
import { invoiceAging } from './invoice-aging.js';
import { paymentLedger } from './payment-ledger.js';
import { reportCard } from './report-card.js';
import type { ReportTemplate } from './types.js';
import { userRoster } from './user-roster.js';

export const reportTemplates: readonly ReportTemplate[] = [
  userRoster,
  classEnrollment,
  attendanceReport,
  attendanceSummary,
  paymentLedger,
  invoiceAging,
  reportCard,
];

export function findTemplate(id: unknown): ReportTemplate {
  const template = reportTemplates.find((t) => t.id === id);
  if (!template) {
    throw new InputError(
      `unknown template ${JSON.stringify(id)}; choose one of ${reportTemplates.map((t) => t.id).join(', ')}`,
      'template',
    );
  }
  return template;
}

export function describeTemplates() {
  return reportTemplates.map((t) => ({
    id: t.id,
    title: t.title,
    description: t.description,
    formats: [...t.formats],
    filters: t.filterHelp,
  }));
}
