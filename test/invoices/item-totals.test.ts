// The items total and count kept on each invoice by the invoice_items triggers (sql/0075), which
// reconciliation compares invoice totals with: exact after every kind of write, under concurrency,
// under bulk loads that skip ordinary triggers, not writable by school_app, repaired by
// recountItems.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../core/clock.js';
import type { Db } from '../../core/db.js';
import { withTenant } from '../../core/tenant-scope.js';
import { parsePayload } from '../../jobs/define-job.js';
import { invoiceReconciliation } from '../../jobs/invoice-reconciliation.js';
import type { ReconciliationResult } from '../../jobs/invoices/result.js';
import { testJobContext } from '../helpers/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { seedSchools } from '../helpers/seed.js';
import { createInvoice, createSchool, type School } from './fixtures.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  // The generator loads items with session_replication_role = replica (no ordinary triggers).
  await seedSchools(database.db, { seed: 11, tenants: 2, students: 20, days: 5, auditRows: 5 });
});

afterAll(async () => {
  await database?.drop();
});

function run(input: unknown): Promise<ReconciliationResult> {
  return invoiceReconciliation.run(
    parsePayload(invoiceReconciliation, input),
    testJobContext(database.db, { clock: fixedClock('2026-03-16T12:00:00Z') }),
  );
}

/** Invoices whose kept total or count differs from a recomputation from invoice_items. */
async function drift(db: Db): Promise<unknown[]> {
  const { rows } = await sql`
    SELECT i.id, i.items_total::text AS kept, a.total::text AS actual, i.item_count AS kept_count, a.n AS actual_count
    FROM invoices i
    LEFT JOIN (SELECT tenant_id, invoice_id, sum(line_total) AS total, count(*) AS n
               FROM invoice_items GROUP BY 1, 2) a ON a.tenant_id = i.tenant_id AND a.invoice_id = i.id
    WHERE (i.items_total, i.item_count) IS DISTINCT FROM (coalesce(a.total, 0), coalesce(a.n, 0))`.execute(
    db,
  );
  return rows;
}

async function kept(db: Db, invoiceId: string): Promise<{ total: string; count: number }> {
  const { rows } = await sql<{ total: string; count: number }>`
    SELECT items_total::text AS total, item_count AS count FROM invoices WHERE id = ${invoiceId}`.execute(db);
  return rows[0]!;
}

const NONE = { total: '0', count: 0 };

async function addItem(db: Db, school: School, invoiceId: string, price: string, quantity = '1') {
  await sql`INSERT INTO invoice_items (tenant_id, invoice_id, description, quantity, unit_price)
            VALUES (${school.tenantId}, ${invoiceId}, 'Item', ${quantity}, ${price})`.execute(db);
}

describe('kept items totals', () => {
  it('match the items of a bulk load that ran with session_replication_role = replica', async () => {
    const { rows } = await sql<{
      n: number;
    }>`SELECT count(*) AS n FROM invoices WHERE item_count > 0`.execute(database.db);
    expect(rows[0]!.n).toBeGreaterThan(0);
    expect(await drift(database.db)).toEqual([]);
  });

  it('stay equal to a recomputation after inserts, updates, moves and deletes', async () => {
    const db = database.db;
    const school = await createSchool(db, 'kept-totals', 'UTC');
    const a = await createInvoice(db, school, { number: 'A', total: '30.00', due: '2026-04-01', items: [] });
    const b = await createInvoice(db, school, {
      number: 'B',
      total: '5.00',
      due: '2026-04-01',
      items: ['5.00'],
    });
    const c = await createInvoice(db, school, {
      number: 'C',
      total: '1.00',
      due: '2026-04-01',
      items: ['1.00'],
    });
    expect(await kept(db, a)).toEqual(NONE);

    // One statement over several invoices; line_total is generated: round(1.5 * 3.33, 2) = 5.00.
    await sql`INSERT INTO invoice_items (tenant_id, invoice_id, description, quantity, unit_price)
              VALUES (${school.tenantId}, ${a}, 'x', 1.5, 3.33), (${school.tenantId}, ${a}, 'y', 1, 20.00),
                     (${school.tenantId}, ${b}, 'z', 2, 0.50)`.execute(db);
    expect(await kept(db, a)).toEqual({ total: '25.00', count: 2 });
    expect(await kept(db, b)).toEqual({ total: '6.00', count: 2 });
    expect(await drift(db)).toEqual([]);

    await sql`UPDATE invoice_items SET unit_price = 3.32 WHERE invoice_id = ${a} AND description = 'x'`.execute(
      db,
    );
    expect(await kept(db, a)).toEqual({ total: '24.98', count: 2 });

    // Moved to another invoice: out of one, into the other.
    await sql`UPDATE invoice_items SET invoice_id = ${b} WHERE invoice_id = ${a} AND description = 'y'`.execute(
      db,
    );
    expect(await kept(db, a)).toEqual({ total: '4.98', count: 1 });
    expect(await kept(db, b)).toEqual({ total: '26.00', count: 3 });

    // An edit that changes no amount leaves the invoice alone (no write, no row lock).
    const version = () =>
      sql<{ v: string }>`SELECT xmin::text AS v FROM invoices WHERE id = ${b}`.execute(db);
    const before = await version();
    await sql`UPDATE invoice_items SET description = 'renamed' WHERE invoice_id = ${b}`.execute(db);
    expect((await version()).rows[0]!.v).toBe(before.rows[0]!.v);

    // The last item deleted: count zero, so the invoice is not checked (as one without items).
    await sql`DELETE FROM invoice_items WHERE invoice_id = ${a}`.execute(db);
    expect(await kept(db, a)).toEqual({ total: '0.00', count: 0 });
    // Deleting an invoice cascades to its items; nothing is left to keep.
    await sql`DELETE FROM invoices WHERE id = ${c}`.execute(db);
    expect(await drift(db)).toEqual([]);
  });

  it('are counted under session_replication_role = replica and emptied by TRUNCATE', async () => {
    const db = database.db;
    const school = await createSchool(db, 'replica', 'UTC');
    const id = await createInvoice(db, school, { number: 'R', total: '7.00', due: '2026-04-01', items: [] });
    await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      await sql`INSERT INTO invoice_items (tenant_id, invoice_id, description, quantity, unit_price)
                VALUES (${school.tenantId}, ${id}, 'x', 1, 7.00)`.execute(trx);
    });
    expect(await kept(db, id)).toEqual({ total: '7.00', count: 1 });
    // Rolled back: the other tests of this file keep their rows.
    await db
      .transaction()
      .execute(async (trx) => {
        await sql`TRUNCATE invoice_items`.execute(trx);
        const { rows } = await sql<{ n: number }>`
          SELECT count(*) AS n FROM invoices WHERE items_total <> 0 OR item_count <> 0`.execute(trx);
        expect(rows[0]!.n).toBe(0);
        throw new Error('roll back');
      })
      .catch((error: Error) => expect(error.message).toBe('roll back'));
    expect(await kept(db, id)).toEqual({ total: '7.00', count: 1 });
  });

  it('lose no increment when two transactions add items to the same invoice at once', async () => {
    const db = database.db;
    const school = await createSchool(db, 'concurrent', 'UTC');
    const existing = await createInvoice(db, school, { number: 'E', total: '1.00', due: '2026-04-01' });
    const fresh = await createInvoice(db, school, {
      number: 'F',
      total: '1.00',
      due: '2026-04-01',
      items: [],
    });
    const first = new pg.Client({ connectionString: database.url });
    const second = new pg.Client({ connectionString: database.url });
    await first.connect();
    await second.connect();
    try {
      const insert = (invoiceId: string, price: string) =>
        `INSERT INTO invoice_items (tenant_id, invoice_id, description, unit_price)
         VALUES ('${school.tenantId}', '${invoiceId}', 'c', ${price})`;
      for (const id of [existing, fresh]) {
        await first.query('BEGIN');
        await first.query(insert(id, '10.00'));
        await second.query('BEGIN');
        const secondPid = (await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
          .pid;
        const waiting = second.query(insert(id, '2.50')).then(() => second.query('COMMIT'));
        await waitUntilBlocked(db, secondPid);
        await first.query('COMMIT');
        await waiting;
      }
      // Deleting an invoice's only item while another transaction adds one.
      const lone = await createInvoice(db, school, {
        number: 'L',
        total: '1.00',
        due: '2026-04-01',
        items: ['4.00'],
      });
      await first.query('BEGIN');
      await first.query(`DELETE FROM invoice_items WHERE invoice_id = '${lone}'`);
      await second.query('BEGIN');
      const secondPid = (await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const waiting = second.query(insert(lone, '6.00')).then(() => second.query('COMMIT'));
      await waitUntilBlocked(db, secondPid);
      await first.query('COMMIT');
      await waiting;
      expect(await kept(db, existing)).toEqual({ total: '13.50', count: 3 });
      expect(await kept(db, fresh)).toEqual({ total: '12.50', count: 2 });
      expect(await kept(db, lone)).toEqual({ total: '6.00', count: 1 });
      expect(await drift(db)).toEqual([]);
    } finally {
      await first.end();
      await second.end();
    }
  });

  it('are not writable by school_app, and its item writes keep them through the trigger', async () => {
    const db = database.db;
    const mine = await createSchool(db, 'rls-mine', 'UTC');
    const id = await createInvoice(db, mine, { number: 'M', total: '3.00', due: '2026-04-01' });
    await sql`GRANT INSERT ON invoice_items TO school_app`.execute(db);
    try {
      await withTenant(db, mine.tenantId, async (trx) => {
        await sql`SAVEPOINT denied`.execute(trx);
        await expect(sql`UPDATE invoices SET items_total = 0 WHERE id = ${id}`.execute(trx)).rejects.toThrow(
          /permission denied/,
        );
        await sql`ROLLBACK TO SAVEPOINT denied`.execute(trx);
        await sql`INSERT INTO invoice_items (tenant_id, invoice_id, description, unit_price)
                  VALUES (${mine.tenantId}, ${id}, 'app', 1.50)`.execute(trx);
      });
    } finally {
      await sql`REVOKE INSERT ON invoice_items FROM school_app`.execute(db);
    }
    expect(await kept(db, id)).toEqual({ total: '4.50', count: 2 });
  });
});

describe('reconciliation against the kept totals', () => {
  it('reports a mismatch an item change causes, and stops once the items are fixed', async () => {
    const db = database.db;
    const school = await createSchool(db, 'item-change', 'UTC');
    const id = await createInvoice(db, school, {
      number: 'IC',
      total: '50.00',
      due: '2026-04-01',
      items: ['50.00'],
    });
    expect((await run({ tenantId: school.tenantId })).itemMismatchCount).toBe(0);
    await addItem(db, school, id, '5.00');
    const incremental = await run({ tenantId: school.tenantId });
    expect(incremental.itemMismatches).toEqual([
      expect.objectContaining({
        invoiceId: id,
        totalAmount: '50.00',
        itemsTotal: '55.00',
        difference: '-5.00',
      }),
    ]);
    expect((await run({ tenantId: school.tenantId, full: true })).itemMismatchCount).toBe(1);
    await sql`DELETE FROM invoice_items WHERE invoice_id = ${id} AND unit_price = 5.00`.execute(db);
    expect((await run({ tenantId: school.tenantId, full: true })).itemMismatchCount).toBe(0);
  });

  it('recountItems corrects totals written behind the triggers back, reports each, then finds nothing', async () => {
    const db = database.db;
    const school = await createSchool(db, 'recount', 'UTC');
    const id = await createInvoice(db, school, {
      number: 'RC',
      total: '20.00',
      due: '2026-04-01',
      items: ['20.00'],
    });
    await db.transaction().execute(async (trx) => {
      await sql`ALTER TABLE invoice_items DISABLE TRIGGER invoice_items_total_insert`.execute(trx);
      await sql`INSERT INTO invoice_items (tenant_id, invoice_id, description, unit_price)
                VALUES (${school.tenantId}, ${id}, 'behind', 1.00)`.execute(trx);
      await sql`ALTER TABLE invoice_items ENABLE ALWAYS TRIGGER invoice_items_total_insert`.execute(trx);
    });
    // Without the recount the stale kept total still matches the invoice: the gap is invisible.
    expect((await run({ tenantId: school.tenantId, full: true })).itemMismatchCount).toBe(0);

    const recount = await run({ tenantId: school.tenantId, full: true, recountItems: true });
    expect(recount.problemCounts).toMatchObject({ item_totals_corrected: 1 });
    expect(recount.problems).toContainEqual({
      kind: 'item_totals_corrected',
      tenantId: school.tenantId,
      invoiceId: id,
      invoiceNumber: 'RC',
      message: 'the kept items total was 20.00 (1 items) but the items add up to 21.00 (2 items); corrected',
    });
    expect(recount.itemMismatches).toEqual([expect.objectContaining({ invoiceId: id, itemsTotal: '21.00' })]);
    expect(await kept(db, id)).toEqual({ total: '21.00', count: 2 });

    const again = await run({ tenantId: school.tenantId, full: true, recountItems: true });
    expect(again.problemCounts.item_totals_corrected).toBeUndefined();
    expect(again.itemMismatchCount).toBe(1);
    expect(await drift(db)).toEqual([]);
  });
});

async function waitUntilBlocked(db: Db, pid: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { rows } = await sql<{ blocked: boolean }>`
      SELECT cardinality(pg_blocking_pids(${pid}::int)) > 0 AS blocked`.execute(db);
    if (rows[0]!.blocked) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`backend ${pid} never waited for the other transaction`);
}
