// Shared set-up for the export tests: a seeded database with names that stress the formats
// (accents, apostrophes, a formula), a private export directory and an end-to-end run helper.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { DirectoryStorage, readStored } from '../../core/storage.js';
import { requestExport } from '../../jobs/exports/create.js';
import { runExport } from '../../jobs/exports/run-export.js';
import { testJobContext } from '../helpers/context.js';
import type { TestDatabase } from '../helpers/postgres.js';
import { seedSchools, TEST_TODAY } from '../helpers/seed.js';

export const SECRET = 'test-signing-secret-0123456789abcdef';
export const NOW = `${TEST_TODAY}T12:00:00Z`;
export const ACCENTED = { first: 'Zoë', last: "O'Brien-Núñez" };
export const FORMULA = '=HYPERLINK("http://evil.example","x")';

export interface ExportFixture {
  tenantA: string;
  tenantB: string;
  dir: string;
  env: Record<string, string>;
  /** Ids of the students whose names were replaced. */
  accentedStudent: string;
  formulaStudent: string;
}

export async function setUpExportData(database: TestDatabase): Promise<ExportFixture> {
  const summary = await seedSchools(database.db, { tenants: 2, students: 30, days: 20 });
  const [tenantA, tenantB] = summary.tenants.map((t) => t.id) as [string, string];
  const { rows } = await sql<{ id: string }>`
    SELECT id FROM students WHERE tenant_id = ${tenantA} ORDER BY student_number LIMIT 2`.execute(
    database.db,
  );
  const [accented, formula] = rows.map((r) => r.id) as [string, string];
  await sql`UPDATE students SET first_name = ${ACCENTED.first}, last_name = ${ACCENTED.last} WHERE id = ${accented}`.execute(
    database.db,
  );
  await sql`UPDATE students SET first_name = 'Evil', last_name = ${FORMULA} WHERE id = ${formula}`.execute(
    database.db,
  );
  await sql`UPDATE tenants SET currency = 'EUR', name = 'École Sainte-Hélène' WHERE id = ${tenantA}`.execute(
    database.db,
  );
  await sql`UPDATE invoices SET currency = 'EUR' WHERE tenant_id = ${tenantA}`.execute(database.db);
  await sql`UPDATE payments SET currency = 'EUR' WHERE tenant_id = ${tenantA}`.execute(database.db);
  // A formula in a free-text column too: neutralisation is about every text cell, not only names.
  await sql`UPDATE attendance SET reason = '@SUM(A1:A9)' WHERE student_id = ${formula}`.execute(database.db);
  const dir = await mkdtemp(path.join(tmpdir(), 'exports-test-'));
  return {
    tenantA,
    tenantB,
    dir,
    env: { EXPORT_DIR: dir, SIGNING_SECRET: SECRET },
    accentedStudent: accented,
    formulaStudent: formula,
  };
}

export async function exportFile(
  database: TestDatabase,
  fixture: ExportFixture,
  tenantId: string,
  template: string,
  format: string,
  filters: Record<string, unknown> = {},
) {
  const ctx = testJobContext(database.db, { now: NOW, env: fixture.env });
  const record = await requestExport(database.db, {
    tenantId,
    request: { template, format, filters },
    config: ctx.config,
    now: ctx.clock.now(),
    enqueue: ctx.enqueue,
  });
  const result = await runExport({ exportId: record.id, tenantId }, ctx);
  const content = await readStored(new DirectoryStorage(fixture.dir), result.storageKey!);
  return { record, result, content, ctx };
}

const exec = promisify(execFile);

export async function pdfText(content: Buffer, dir: string): Promise<string> {
  const file = path.join(dir, `check-${Math.random().toString(36).slice(2)}.pdf`);
  await writeFile(file, content);
  const { stdout } = await exec('pdftotext', ['-layout', file, '-']);
  return stdout;
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF), to read the CSV back as a reader would. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
