// The shape of a reconciliation run's result (the job's return value and run record), and how
// per-tenant outcomes add up into it.

export type ProblemKind =
  | 'unknown_tenant'
  | 'unknown_invoice'
  | 'negative_payment_amount'
  | 'payment_currency_mismatch'
  | 'refunds_exceed_payments'
  /** A kept items total (sql/0075) that differed from the items, found by `recountItems`. */
  | 'item_totals_corrected';

export interface InvoiceProblem {
  kind: ProblemKind;
  tenantId?: string;
  invoiceId?: string;
  invoiceNumber?: string;
  paymentId?: string;
  message: string;
}

/** An invoice whose items do not add up to its total: reported, never rewritten. */
export interface ItemMismatch {
  tenantId?: string;
  invoiceId: string;
  invoiceNumber: string;
  totalAmount: string;
  itemsTotal: string;
  difference: string;
}

export interface TenantSummary {
  tenantId: string;
  /** full: every invoice; incremental: the change queue plus the due-date window; invoice: one. */
  mode: 'full' | 'incremental' | 'invoice';
  /** The tenant-local date that decided what is overdue. */
  today: string;
  timeZone: string;
  examined: number;
  rowsWritten: number;
}

/** What one reconciliation transaction reports (lists already capped, counts complete). */
export interface RunTotals {
  tenants: TenantSummary[];
  examined: number;
  rowsWritten: number;
  auditRows: number;
  transitions: Record<string, number>;
  itemMismatchCount: number;
  itemMismatches: ItemMismatch[];
  problemCounts: Record<string, number>;
  problems: InvoiceProblem[];
}

export interface ReconciliationResult extends RunTotals {
  /** True when more problems or mismatches exist than are listed (see the counts). */
  truncated: boolean;
}

export function emptyResult(): ReconciliationResult {
  return {
    tenants: [],
    examined: 0,
    rowsWritten: 0,
    auditRows: 0,
    transitions: {},
    itemMismatchCount: 0,
    itemMismatches: [],
    problemCounts: {},
    problems: [],
    truncated: false,
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + Number(n);
}

export function addProblem(result: ReconciliationResult, problem: InvoiceProblem, maxListed: number): void {
  addCounts(result.problemCounts, { [problem.kind]: 1 });
  if (result.problems.length < maxListed) result.problems.push(problem);
  else result.truncated = true;
}

export function addRunTotals(result: ReconciliationResult, totals: RunTotals, maxListed: number): void {
  result.tenants.push(...totals.tenants);
  result.examined += totals.examined;
  result.rowsWritten += totals.rowsWritten;
  result.auditRows += totals.auditRows;
  addCounts(result.transitions, totals.transitions);
  addCounts(result.problemCounts, totals.problemCounts);
  result.itemMismatchCount += totals.itemMismatchCount;
  const problemTotal = Object.values(totals.problemCounts).reduce((sum, n) => sum + Number(n), 0);
  const room = Math.max(0, maxListed - result.problems.length);
  result.problems.push(...totals.problems.slice(0, room));
  const mismatchRoom = Math.max(0, maxListed - result.itemMismatches.length);
  result.itemMismatches.push(...totals.itemMismatches.slice(0, mismatchRoom));
  const listed = Math.min(totals.problems.length, room);
  const mismatchesListed = Math.min(totals.itemMismatches.length, mismatchRoom);
  if (problemTotal > listed || totals.itemMismatchCount > mismatchesListed) result.truncated = true;
}
