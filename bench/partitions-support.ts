// Support for bench/partitions.ts: a job context outside tests, a concurrent writer that records
// its worst insert latency, a "long report" holding locks, and copying a database.
import pg from 'pg';
import { systemClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import type { Db } from '../core/db.js';
import { silentLogger } from '../core/logger.js';
import type { JobContext } from '../jobs/define-job.js';

export function benchContext(db: Db, url: string, env: Record<string, string> = {}): JobContext {
  return {
    db,
    log: silentLogger,
    clock: systemClock,
    config: loadConfig({ DATABASE_URL: url, EXPORT_DIR: 'var/bench-exports', ...env }),
    async progress() {},
    signal: new AbortController().signal,
    jobId: 'bench',
    attempt: 1,
    async enqueue(kind) {
      return `${kind}-bench`;
    },
  };
}

/** Inserts attendance and audit rows one by one, as a school's daytime traffic does. */
export async function startWriter(
  url: string,
): Promise<{ stop(): Promise<{ inserts: number; worstMs: number }> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ tenant_id: string; id: string }>(
    'SELECT tenant_id, id FROM students ORDER BY id LIMIT 50',
  );
  let running = true;
  let inserts = 0;
  let worstMs = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const student = rows[i % rows.length]!;
      const started = performance.now();
      await client.query(
        `INSERT INTO attendance (tenant_id, student_id, attendance_date, period, status)
         VALUES ($1, $2, current_date, $3, 'present')
         ON CONFLICT (tenant_id, student_id, attendance_date, period) DO UPDATE SET status = 'late'`,
        [student.tenant_id, student.id, (i % 12) + 1],
      );
      await client.query(
        `INSERT INTO audit_logs (tenant_id, action, resource_type) VALUES ($1, 'update', 'attendance')`,
        [student.tenant_id],
      );
      worstMs = Math.max(worstMs, performance.now() - started);
      inserts += 2;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end();
      return { inserts, worstMs };
    },
  };
}

/** A report that reads audit_logs inside a transaction kept open for `holdMs`. */
export async function longReport(url: string, holdMs: number): Promise<{ done: Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT count(*) FROM audit_logs');
  // Wrapped in an object: an async function returning a bare promise would make the caller wait for it.
  const done = (async () => {
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    await client.query('COMMIT');
    await client.end();
  })();
  return { done };
}

export async function copyDatabase(adminUrl: string, from: string, to: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${to} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${to} TEMPLATE ${from}`);
  } finally {
    await admin.end();
  }
}
