// What reconciliation reports instead of rewriting (item mismatches, bad payments, unknown ids),
// bad input, and tenant isolation: a targeted run and the RLS role it runs under.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../core/clock.js';
import { InputError } from '../../core/errors.js';
import { withTenant } from '../../core/tenant-scope.js';
import { parsePayload } from '../../jobs/define-job.js';
import { invoiceReconciliation } from '../../jobs/invoice-reconciliation.js';
import type { ReconciliationResult } from '../../jobs/invoices/result.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';
import { addPayment, createInvoice, createSchool, invoice, invoiceVersions } from './fixtures.js';

let database: TestDatabase;
let seeded: Awaited<ReturnType<typeof seedSchools>>;

beforeAll(async () => {
  database = await createTestDatabase();
  // Seeded first: the generator creates audit-log month partitions, which PostgreSQL refuses
  // once the default partition holds rows of that month (as these tests' audit entries would).
  seeded = await seedSchools(database.db, { seed: 7, tenants: 2, students: 30, days: 10, auditRows: 10 });
});

afterAll(async () => {
  await database?.drop();
});

function run(input: unknown, env: Record<string, string> = {}): Promise<ReconciliationResult> {
  return invoiceReconciliation.run(
    parsePayload(invoiceReconciliation, input),
    testJobContext(database.db, { clock: fixedClock('2026-03-16T12:00:00Z'), env }),
  );
}

describe('reported, not rewritten', () => {
  it('reports an invoice whose items do not add up to its total and keeps the total', async () => {
    const db = database.db;
    const school = await createSchool(db, 'mismatch', 'Europe/Paris', 'EUR');
    const id = await createInvoice(db, school, {
      number: 'M-1',
      total: '100.00',
      due: '2026-04-01',
      currency: 'EUR',
      items: ['60.00', '30.00'],
    });
    await createInvoice(db, school, { number: 'OK-1', total: '10.00', due: '2026-04-01', currency: 'EUR' });
    await createInvoice(db, school, {
      number: 'NO-ITEMS',
      total: '10.00',
      due: '2026-04-01',
      currency: 'EUR',
      items: [],
    });
    const result = await run({ tenantId: school.tenantId });
    expect(result.itemMismatchCount).toBe(1);
    expect(result.itemMismatches).toEqual([
      {
        tenantId: school.tenantId,
        invoiceId: id,
        invoiceNumber: 'M-1',
        totalAmount: '100.00',
        itemsTotal: '90.00',
        difference: '10.00',
      },
    ]);
    const { rows } = await sql<{
      total: string;
    }>`SELECT total_amount::text AS total FROM invoices WHERE id = ${id}`.execute(db);
    expect(rows[0]!.total).toBe('100.00');
  });

  it('leaves negative and foreign-currency payments out of the sums, reports them, and finishes the rest', async () => {
    const db = database.db;
    const school = await createSchool(db, 'bad-payments', 'America/Los_Angeles');
    const negative = await createInvoice(db, school, { number: 'NEG', total: '100.00', due: '2026-04-01' });
    const negativePayment = await addPayment(db, school, negative, { amount: '-50.00' });
    await addPayment(db, school, negative, { amount: '20.00' });
    const foreign = await createInvoice(db, school, { number: 'FX', total: '100.00', due: '2026-04-01' });
    const foreignPayment = await addPayment(db, school, foreign, { amount: '100.00', currency: 'EUR' });
    const onlyForeign = await createInvoice(db, school, {
      number: 'FX-ONLY',
      total: '100.00',
      due: '2026-04-01',
    });
    await addPayment(db, school, onlyForeign, { amount: '100.00', currency: 'GBP' });
    await addPayment(db, school, foreign, { amount: '25.00' });
    const refundedTwice = await createInvoice(db, school, {
      number: 'RF',
      total: '100.00',
      due: '2026-04-01',
    });
    await addPayment(db, school, refundedTwice, { amount: '100.00' });
    await addPayment(db, school, refundedTwice, { amount: '100.00', kind: 'refund' });
    await addPayment(db, school, refundedTwice, { amount: '100.00', kind: 'refund' });
    const fine = await createInvoice(db, school, { number: 'FINE', total: '100.00', due: '2026-04-01' });
    await addPayment(db, school, fine, { amount: '100.00' });

    const result = await run({ tenantId: school.tenantId });
    expect(await invoice(db, negative)).toMatchObject({ status: 'partially_paid', amount_paid: '20.00' });
    // Mixed currencies: only the invoice's own currency counts.
    expect(await invoice(db, foreign)).toMatchObject({ status: 'partially_paid', amount_paid: '25.00' });
    expect(await invoice(db, onlyForeign)).toMatchObject({ status: 'pending', amount_paid: '0.00' });
    expect(await invoice(db, refundedTwice)).toMatchObject({ amount_paid: '-100.00', balance_due: '200.00' });
    expect((await invoice(db, fine)).status).toBe('paid');
    expect(result.problemCounts).toEqual({
      negative_payment_amount: 1,
      payment_currency_mismatch: 2,
      refunds_exceed_payments: 1,
    });
    expect(result.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'negative_payment_amount',
          invoiceId: negative,
          paymentId: negativePayment,
        }),
        expect.objectContaining({
          kind: 'payment_currency_mismatch',
          invoiceId: foreign,
          paymentId: foreignPayment,
        }),
        expect.objectContaining({ kind: 'refunds_exceed_payments', invoiceId: refundedTwice }),
      ]),
    );
    const fx = result.problems.find((problem) => problem.kind === 'payment_currency_mismatch');
    expect(fx!.message).toContain('is in EUR but the invoice is in USD');
  });

  it('caps the listed problems at INVOICE_RECONCILIATION_MAX_LISTED and keeps the counts whole', async () => {
    const db = database.db;
    const school = await createSchool(db, 'many-problems', 'UTC');
    for (const n of [1, 2, 3]) {
      const id = await createInvoice(db, school, { number: `P-${n}`, total: '5.00', due: '2026-04-01' });
      await addPayment(db, school, id, { amount: '-1.00' });
    }
    const result = await run({ tenantId: school.tenantId }, { INVOICE_RECONCILIATION_MAX_LISTED: '2' });
    expect(result.problemCounts).toEqual({ negative_payment_amount: 3 });
    expect(result.problems).toHaveLength(2);
    expect(result.truncated).toBe(true);
  });
});

describe('bad input', () => {
  it('reports an unknown tenant or invoice id without failing', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const tenant = await run({ tenantId: missing });
    expect(tenant.problems).toEqual([expect.objectContaining({ kind: 'unknown_tenant', tenantId: missing })]);
    expect(tenant.rowsWritten).toBe(0);
    const inv = await run({ invoiceId: missing });
    expect(inv.problems).toEqual([expect.objectContaining({ kind: 'unknown_invoice', invoiceId: missing })]);
  });

  it('reports an invoice that belongs to another tenant than the one named', async () => {
    const db = database.db;
    const a = await createSchool(db, 'owner-a', 'UTC');
    const b = await createSchool(db, 'owner-b', 'UTC');
    const id = await createInvoice(db, a, { number: 'X', total: '1.00', due: '2026-04-01' });
    await addPayment(db, a, id, { amount: '1.00' });
    const result = await run({ tenantId: b.tenantId, invoiceId: id });
    expect(result.problems[0]).toMatchObject({ kind: 'unknown_invoice', tenantId: b.tenantId });
    expect((await invoice(db, id)).status).toBe('pending');
  });

  it('rejects a non-UUID id or a non-boolean full as InputError naming the field', () => {
    expect(() => parsePayload(invoiceReconciliation, { tenantId: 'school-1' })).toThrow(InputError);
    expect(() => parsePayload(invoiceReconciliation, { tenantId: 'school-1' })).toThrow(/payload\.tenantId/);
    expect(() => parsePayload(invoiceReconciliation, { invoiceId: 42 })).toThrow(/payload\.invoiceId/);
    expect(() => parsePayload(invoiceReconciliation, { full: 'yes' })).toThrow(/payload\.full/);
  });
});

describe('tenant isolation', () => {
  it("leaves another tenant's invoices and queue untouched when one tenant is targeted", async () => {
    const db = database.db;
    const [target, other] = seeded.tenants.map((tenant) => tenant.id);
    // A change in the other tenant after seeding: it must stay queued for that tenant's own run.
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM invoices WHERE tenant_id = ${other!} AND status NOT IN ('draft', 'cancelled') LIMIT 1`.execute(
      db,
    );
    await sql`UPDATE payments SET status = 'voided' WHERE invoice_id = ${rows[0]!.id}`.execute(db);
    const versionsBefore = await invoiceVersions(db);
    const result = await run({ tenantId: target! });
    expect(result.tenants.map((tenant) => tenant.tenantId)).toEqual([target]);
    expect(result.rowsWritten).toBeGreaterThan(0);

    const { rows: otherInvoices } = await sql<{
      id: string;
    }>`SELECT id FROM invoices WHERE tenant_id = ${other!}`.execute(db);
    const versionsAfter = await invoiceVersions(db);
    for (const { id } of otherInvoices) expect(versionsAfter[id]).toBe(versionsBefore[id]);
    const queued = await sql<{ tenant_id: string }>`
      SELECT tenant_id FROM invoice_reconciliation_queue WHERE tenant_id IN (${target!}, ${other!})`.execute(
      db,
    );
    expect(queued.rows).toEqual([{ tenant_id: other }]);

    // An untargeted run covers every tenant, and picks up the other tenant's queued change.
    const all = await run({});
    const tenants = await sql<{ n: number }>`SELECT count(*) AS n FROM tenants`.execute(db);
    expect(all.tenants).toHaveLength(tenants.rows[0]!.n);
    expect(all.tenants.find((tenant) => tenant.tenantId === other)).toMatchObject({ mode: 'full' });
    const drained = await sql`SELECT 1 FROM invoice_reconciliation_queue`.execute(db);
    expect(drained.rows).toHaveLength(0);
  });

  it('runs each tenant as school_app: the granted invoice columns cannot be written across tenants', async () => {
    const db = database.db;
    const a = await createSchool(db, 'rls-a', 'UTC');
    const b = await createSchool(db, 'rls-b', 'UTC');
    const inB = await createInvoice(db, b, { number: 'B-1', total: '9.00', due: '2026-04-01' });
    await addPayment(db, b, inB, { amount: '9.00' });
    await withTenant(db, a.tenantId, async (trx) => {
      const role = await sql<{ role: string }>`SELECT current_user AS role`.execute(trx);
      expect(role.rows[0]!.role).toBe('school_app');
      const updated = await sql`UPDATE invoices SET status = 'paid' WHERE id = ${inB}`.execute(trx);
      expect(Number(updated.numAffectedRows)).toBe(0);
      const queue =
        await sql`SELECT * FROM invoice_reconciliation_queue WHERE tenant_id = ${b.tenantId}`.execute(trx);
      expect(queue.rows).toHaveLength(0);
      const deleted = await sql`DELETE FROM invoice_reconciliation_queue`.execute(trx);
      expect(Number(deleted.numAffectedRows)).toBe(0);
    });
    const result = await run({ tenantId: a.tenantId, full: true });
    expect(result.rowsWritten).toBe(0);
    expect((await invoice(db, inB)).status).toBe('pending');
    const queued = await sql`SELECT 1 FROM invoice_reconciliation_queue WHERE invoice_id = ${inB}`.execute(
      db,
    );
    expect(queued.rows).toHaveLength(1);
  });
});
