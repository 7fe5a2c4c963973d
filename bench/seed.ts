// Benchmark: the synthetic data generator writing ~10 million attendance rows (5 schools x
// 11,000 students x 182 school days), against COPY loading the very same rows into the same
// partitioned, indexed table in the same run. Goal (issue 2): under 2 minutes.
//   npm run bench:seed   [BENCH_STUDENTS=11000 BENCH_TENANTS=5 BENCH_DAYS=182]
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { generateSchoolData } from '../seed/generate.js';
import { freshBenchDatabase, report, round, timed } from './lib.js';

const tenants = Number(process.env.BENCH_TENANTS ?? 5);
const students = Number(process.env.BENCH_STUDENTS ?? 11_000);
const days = Number(process.env.BENCH_DAYS ?? 182);

const database = await freshBenchDatabase('seed');
const dir = await mkdtemp(path.join(tmpdir(), 'bench-seed-'));
const file = path.join(dir, 'attendance.copy');
try {
  const seeded = await timed(() =>
    generateSchoolData(database.db, {
      seed: 1,
      tenants,
      students,
      days,
      auditRows: 1000,
      today: '2026-11-20',
    }),
  );
  const rows = seeded.value.rows.attendance ?? 0;
  const attendanceMs = seeded.value.stepMs.attendance ?? 0;

  // Baseline: the same rows, dumped and loaded back with COPY under the same conditions
  // (superuser, triggers skipped, compressed WAL), into the emptied partitions.
  const client = await database.pool.connect();
  let copied: { ms: number };
  try {
    await pipeline(
      client.query(copyTo('COPY (SELECT * FROM attendance) TO STDOUT')),
      createWriteStream(file),
    );
    await client.query('TRUNCATE attendance');
    copied = await timed(async () => {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query('SET LOCAL wal_compression = on');
      await pipeline(createReadStream(file), client.query(copyFrom('COPY attendance FROM STDIN')));
      await client.query('COMMIT');
    });
  } finally {
    client.release();
  }
  const size = (await stat(file)).size;

  report('seed', {
    attendanceRows: rows,
    totalSeconds: round(seeded.ms / 1000, 1),
    attendanceSeconds: round(attendanceMs / 1000, 1),
    attendanceRowsPerSecond: Math.round(rows / (attendanceMs / 1000)),
    copySeconds: round(copied.ms / 1000, 1),
    copyFileMB: round(size / 1e6, 0),
    ratioAttendanceToCopy: round(attendanceMs / copied.ms),
    goal: 'totalSeconds < 120',
  });
} finally {
  await rm(dir, { recursive: true, force: true });
  await database.close();
}
