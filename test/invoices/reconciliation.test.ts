// Invoice reconciliation against a real PostgreSQL: every status transition, money exactness,
// idempotency, audit entries, the incremental queue and the due-date pass.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../core/clock.js';
import { parsePayload } from '../../jobs/define-job.js';
import { invoiceReconciliation } from '../../jobs/invoice-reconciliation.js';
import type { ReconciliationResult } from '../../jobs/invoices/result.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import {
  addPayment,
  auditRows,
  createInvoice,
  createSchool,
  invoice,
  invoiceVersions,
  type School,
} from './fixtures.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const NOON_UTC = '2026-03-16T12:00:00Z';

function run(input: unknown, now = NOON_UTC): Promise<ReconciliationResult> {
  return invoiceReconciliation.run(
    parsePayload(invoiceReconciliation, input),
    testJobContext(database.db, { clock: fixedClock(now) }),
  );
}

describe('status transitions (New York school, 2026-03-16)', () => {
  let school: School;
  const ids: Record<string, string> = {};
  let first: ReconciliationResult;

  beforeAll(async () => {
    const db = database.db;
    school = await createSchool(db, 'transitions', 'America/New_York');
    const future = '2026-04-30';
    const past = '2026-03-01';
    ids.paid = await createInvoice(db, school, { number: 'paid', total: '100.00', due: future });
    await addPayment(db, school, ids.paid, { amount: '100.00' });
    ids.partial = await createInvoice(db, school, {
      number: 'partial',
      total: '100.00',
      due: future,
      status: 'sent',
    });
    await addPayment(db, school, ids.partial, { amount: '40.00' });
    ids.partialPastDue = await createInvoice(db, school, {
      number: 'partial-past-due',
      total: '100.00',
      due: past,
    });
    await addPayment(db, school, ids.partialPastDue, { amount: '40.00' });
    ids.overpaid = await createInvoice(db, school, { number: 'overpaid', total: '100.00', due: future });
    await addPayment(db, school, ids.overpaid, { amount: '130.00' });
    ids.refunded = await createInvoice(db, school, {
      number: 'refunded',
      total: '100.00',
      due: future,
      status: 'paid',
    });
    await addPayment(db, school, ids.refunded, { amount: '100.00' });
    await addPayment(db, school, ids.refunded, { amount: '100.00', kind: 'refund' });
    ids.partlyRefunded = await createInvoice(db, school, {
      number: 'partly-refunded',
      total: '100.00',
      due: future,
      status: 'paid',
    });
    await addPayment(db, school, ids.partlyRefunded, { amount: '100.00' });
    await addPayment(db, school, ids.partlyRefunded, { amount: '30.00', kind: 'refund' });
    ids.voided = await createInvoice(db, school, {
      number: 'voided',
      total: '100.00',
      due: past,
      status: 'paid',
    });
    await addPayment(db, school, ids.voided, { amount: '100.00', status: 'voided' });
    ids.notSettled = await createInvoice(db, school, { number: 'not-settled', total: '100.00', due: future });
    await addPayment(db, school, ids.notSettled, { amount: '100.00', status: 'failed' });
    await addPayment(db, school, ids.notSettled, { amount: '100.00', status: 'pending' });
    await addPayment(db, school, ids.notSettled, { amount: '100.00', kind: 'refund', status: 'voided' });
    ids.unpaidPastDue = await createInvoice(db, school, {
      number: 'unpaid-past-due',
      total: '100.00',
      due: past,
      status: 'sent',
    });
    ids.dueToday = await createInvoice(db, school, {
      number: 'due-today',
      total: '100.00',
      due: '2026-03-16',
    });
    ids.cents = await createInvoice(db, school, { number: 'cents', total: '0.30', due: future });
    await addPayment(db, school, ids.cents, { amount: '0.10' });
    await addPayment(db, school, ids.cents, { amount: '0.20' });
    ids.cancelled = await createInvoice(db, school, {
      number: 'cancelled',
      total: '100.00',
      due: past,
      status: 'cancelled',
    });
    await addPayment(db, school, ids.cancelled, { amount: '100.00' });
    ids.draft = await createInvoice(db, school, {
      number: 'draft',
      total: '100.00',
      due: past,
      status: 'draft',
    });
    first = await run({ tenantId: school.tenantId });
  });

  it('derives paid, partially paid, overdue, overpaid and pending from settled payments less refunds', async () => {
    const db = database.db;
    expect(await invoice(db, ids.paid!)).toMatchObject({
      status: 'paid',
      amount_paid: '100.00',
      balance_due: '0.00',
    });
    expect(await invoice(db, ids.partial!)).toMatchObject({
      status: 'partially_paid',
      amount_paid: '40.00',
      balance_due: '60.00',
    });
    // A partly paid invoice past its due date is overdue and still shows what was paid.
    expect(await invoice(db, ids.partialPastDue!)).toMatchObject({
      status: 'overdue',
      amount_paid: '40.00',
      balance_due: '60.00',
    });
    expect(await invoice(db, ids.overpaid!)).toMatchObject({
      status: 'overpaid',
      amount_paid: '130.00',
      balance_due: '-30.00',
    });
    expect(await invoice(db, ids.refunded!)).toMatchObject({
      status: 'pending',
      amount_paid: '0.00',
      balance_due: '100.00',
    });
    expect(await invoice(db, ids.partlyRefunded!)).toMatchObject({
      status: 'partially_paid',
      amount_paid: '70.00',
      balance_due: '30.00',
    });
    expect(await invoice(db, ids.voided!)).toMatchObject({
      status: 'overdue',
      amount_paid: '0.00',
      balance_due: '100.00',
    });
    expect(await invoice(db, ids.notSettled!)).toMatchObject({ status: 'pending', amount_paid: '0.00' });
    expect(await invoice(db, ids.unpaidPastDue!)).toMatchObject({ status: 'overdue', balance_due: '100.00' });
    // Due "today" is not overdue yet.
    expect((await invoice(db, ids.dueToday!)).status).toBe('pending');
    // 0.10 + 0.20 is 0.30 exactly: numeric end to end, never floating point.
    expect(await invoice(db, ids.cents!)).toMatchObject({
      status: 'paid',
      amount_paid: '0.30',
      balance_due: '0.00',
    });
  });

  it('leaves cancelled and draft invoices untouched', async () => {
    expect(await invoice(database.db, ids.cancelled!)).toMatchObject({
      status: 'cancelled',
      amount_paid: '0.00',
      balance_due: '100.00',
    });
    expect(await invoice(database.db, ids.draft!)).toMatchObject({ status: 'draft', amount_paid: '0.00' });
  });

  it('counts each transition in the result', () => {
    expect(first.transitions).toEqual({
      'pending->paid': 2,
      'sent->partially_paid': 1,
      'pending->overdue': 1,
      'pending->overpaid': 1,
      'paid->pending': 1,
      'paid->partially_paid': 1,
      'paid->overdue': 1,
      'sent->overdue': 1,
    });
    expect(first.tenants).toEqual([
      expect.objectContaining({ tenantId: school.tenantId, mode: 'full', today: '2026-03-16' }),
    ]);
    // 11 open invoices examined; the unchanged ones (not-settled, due-today) are not written.
    expect(first.examined).toBe(11);
    expect(first.rowsWritten).toBe(9);
    expect(first.auditRows).toBe(9);
  });

  it('writes one audit entry per status change, with old and new values and the reason', async () => {
    const entries = await auditRows(database.db, school.tenantId);
    expect(entries).toHaveLength(9);
    const overdue = entries.find((entry) => entry.resource_id === ids.partialPastDue);
    expect(overdue).toMatchObject({
      actor: 'engine:invoice-reconciliation',
      action: 'status_change',
      old_values: { status: 'pending', amount_paid: '0.00', balance_due: '100.00' },
      new_values: { status: 'overdue', amount_paid: '40.00', balance_due: '60.00' },
    });
    expect(overdue!.reason).toContain('2026-03-01 has passed');
    expect(overdue!.reason).toContain('America/New_York');
    const overpaid = entries.find((entry) => entry.resource_id === ids.overpaid);
    expect(overpaid!.reason).toContain('30.00 is owed back as credit');
    expect(
      entries.some((entry) => entry.resource_id === ids.cancelled || entry.resource_id === ids.notSettled),
    ).toBe(false);
  });

  it('writes nothing on a second run, full or incremental', async () => {
    const before = await invoiceVersions(database.db);
    const auditBefore = (await auditRows(database.db)).length;
    const again = await run({ tenantId: school.tenantId, full: true });
    const incremental = await run({ tenantId: school.tenantId });
    for (const result of [again, incremental]) {
      expect(result.rowsWritten).toBe(0);
      expect(result.auditRows).toBe(0);
      expect(result.transitions).toEqual({});
    }
    expect(again.examined).toBe(11);
    expect(incremental.tenants[0]!.mode).toBe('incremental');
    expect(incremental.examined).toBe(0);
    expect(await invoiceVersions(database.db)).toEqual(before);
    expect((await auditRows(database.db)).length).toBe(auditBefore);
  });
});

describe('incremental runs', () => {
  it('picks up new payments, refunds and voids from the queue and due dates passing from the clock', async () => {
    const db = database.db;
    const school = await createSchool(db, 'incremental', 'America/New_York');
    const a = await createInvoice(db, school, { number: 'a', total: '50.00', due: '2026-03-20' });
    const b = await createInvoice(db, school, { number: 'b', total: '80.00', due: '2026-03-18' });
    const c = await createInvoice(db, school, { number: 'c', total: '80.00', due: '2026-05-01' });
    const first = await run({ tenantId: school.tenantId });
    expect(first.tenants[0]!.mode).toBe('full');
    expect(first.rowsWritten).toBe(0);

    // A payment arrives for a; b's due date passes on the 19th (New York).
    const payment = await addPayment(db, school, a, { amount: '50.00' });
    const second = await run({ tenantId: school.tenantId }, '2026-03-19T12:00:00Z');
    expect(second.tenants[0]!.mode).toBe('incremental');
    expect(second.examined).toBe(2);
    expect(second.transitions).toEqual({ 'pending->paid': 1, 'pending->overdue': 1 });
    expect((await invoice(db, a)).status).toBe('paid');
    expect((await invoice(db, b)).status).toBe('overdue');
    expect((await invoice(db, c)).status).toBe('pending');
    const queued = await sql<{ n: number }>`SELECT count(*) AS n FROM invoice_reconciliation_queue`.execute(
      db,
    );
    expect(queued.rows[0]!.n).toBe(0);

    // The payment is voided later: a goes back to pending (not yet due).
    await sql`UPDATE payments SET status = 'voided' WHERE id = ${payment}`.execute(db);
    const third = await run({ tenantId: school.tenantId }, '2026-03-19T13:00:00Z');
    expect(third.examined).toBe(1);
    expect(third.transitions).toEqual({ 'paid->pending': 1 });

    // A status set by hand is queued and corrected on the next run.
    await sql`UPDATE invoices SET status = 'paid' WHERE id = ${c}`.execute(db);
    const fourth = await run({ tenantId: school.tenantId }, '2026-03-19T14:00:00Z');
    expect(fourth.transitions).toEqual({ 'paid->pending': 1 });

    // Deleting payments or a whole invoice keeps working with the queue's triggers.
    await sql`DELETE FROM invoices WHERE id = ${a}`.execute(db);
    const fifth = await run({ tenantId: school.tenantId }, '2026-03-19T15:00:00Z');
    expect(fifth.rowsWritten).toBe(0);
  });

  it('reconciles one invoice on demand and leaves the rest of the queue for the nightly run', async () => {
    const db = database.db;
    const school = await createSchool(db, 'on-demand', 'Europe/London');
    const one = await createInvoice(db, school, { number: 'one', total: '10.00', due: '2026-06-01' });
    const other = await createInvoice(db, school, { number: 'other', total: '10.00', due: '2026-06-01' });
    await run({ tenantId: school.tenantId });
    await addPayment(db, school, one, { amount: '10.00' });
    await addPayment(db, school, other, { amount: '10.00' });
    const result = await run({ invoiceId: one });
    expect(result.tenants[0]).toMatchObject({ mode: 'invoice', examined: 1, rowsWritten: 1 });
    expect((await invoice(db, one)).status).toBe('paid');
    expect((await invoice(db, other)).status).toBe('pending');
    const nightly = await run({ tenantId: school.tenantId });
    expect(nightly.transitions).toEqual({ 'pending->paid': 1 });
  });
});

describe('time zones', () => {
  it('decides overdue by the date in the school own time zone', async () => {
    const db = database.db;
    const kolkata = await createSchool(db, 'kolkata', 'Asia/Kolkata', 'INR');
    const newYork = await createSchool(db, 'new-york', 'America/New_York');
    const inKolkata = await createInvoice(db, kolkata, {
      number: 'k',
      total: '1000.00',
      due: '2026-03-16',
      currency: 'INR',
    });
    const inNewYork = await createInvoice(db, newYork, { number: 'n', total: '100.00', due: '2026-03-16' });
    // 20:00 UTC: already the 17th at 01:30 in Kolkata, still the 16th at 16:00 in New York.
    const now = '2026-03-16T20:00:00Z';
    const k = await run({ tenantId: kolkata.tenantId }, now);
    const n = await run({ tenantId: newYork.tenantId }, now);
    expect(k.tenants[0]!.today).toBe('2026-03-17');
    expect(n.tenants[0]!.today).toBe('2026-03-16');
    expect((await invoice(db, inKolkata)).status).toBe('overdue');
    expect((await invoice(db, inNewYork)).status).toBe('pending');
    // Five hours later it is the 17th in New York too; the due-date pass catches it.
    const later = await run({ tenantId: newYork.tenantId }, '2026-03-17T05:00:00Z');
    expect(later.transitions).toEqual({ 'pending->overdue': 1 });
  });
});

describe('safety', () => {
  it('two overlapping runs for one tenant write each change and audit entry once', async () => {
    const db = database.db;
    const school = await createSchool(db, 'overlap', 'UTC');
    for (const n of [1, 2, 3]) {
      const id = await createInvoice(db, school, { number: `O-${n}`, total: '10.00', due: '2026-04-01' });
      await addPayment(db, school, id, { amount: '10.00' });
    }
    const [a, b] = await Promise.all([
      run({ tenantId: school.tenantId }),
      run({ tenantId: school.tenantId }),
    ]);
    expect(a.auditRows + b.auditRows).toBe(3);
    expect(a.rowsWritten + b.rowsWritten).toBe(3);
    expect(await auditRows(db, school.tenantId)).toHaveLength(3);
  });

  it('deleting a whole tenant cascades through the queue triggers', async () => {
    const db = database.db;
    const school = await createSchool(db, 'leaving', 'UTC');
    const id = await createInvoice(db, school, { number: 'L-1', total: '10.00', due: '2026-04-01' });
    await addPayment(db, school, id, { amount: '10.00' });
    await sql`DELETE FROM tenants WHERE id = ${school.tenantId}`.execute(db);
    const result = await run({ tenantId: school.tenantId });
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'unknown_tenant' })]);
  });
});
