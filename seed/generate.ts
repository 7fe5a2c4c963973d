// Synthetic school data, generated inside PostgreSQL in one transaction.
//
// Deterministic: identifiers are UUIDs derived from (seed, kind, tenant, number) and every random
// choice is hashint8extended(key, salt), a pure function of the row's own key. The same seed and
// anchor date give the same rows whatever plan or parallelism PostgreSQL picks.
// Fast: everything is INSERT ... SELECT over generate_series (10 million attendance rows are one
// statement), never rows sent one by one from Node.
// Re-runnable: the seed's own tenants are deleted first, in the same transaction.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../core/database-types.js';
import type { Db } from '../core/db.js';
import { InputError } from '../core/errors.js';
import { addMonths, ensureMonthlyPartitions } from '../core/partitions.js';
import {
  ABSENCE_REASONS,
  FIRST_NAMES,
  GUARDIAN_LOCALES,
  LAST_NAMES,
  LATE_REASONS,
  type Region,
  SCHOOL_PROFILES,
  SUBJECTS,
} from './profiles.js';

export interface SeedOptions {
  seed: number;
  tenants: number;
  /** Students per tenant. */
  students: number;
  /** School days of attendance, counted back from the day before `today`. */
  days: number;
  /** Audit log rows per tenant, spread over the 30 months before `today`. */
  auditRows: number;
  /** The anchor date (YYYY-MM-DD): data ends the day before. */
  today: string;
}

export interface SeededTenant {
  id: string;
  slug: string;
  name: string;
  timeZone: string;
  locale: string;
}

export interface SeedSummary {
  seed: number;
  today: string;
  tenants: SeededTenant[];
  rows: Record<string, number>;
  /** Milliseconds per step, to see where the time goes. */
  stepMs: Record<string, number>;
  durationMs: number;
}

export const SEED_LIMITS = {
  seed: [0, 2 ** 31 - 1],
  tenants: [1, 500],
  students: [1, 1_000_000],
  days: [1, 400],
  auditRows: [0, 50_000_000],
} as const;

const STUDENTS_PER_CLASS = 25;
const CORE_SUBJECTS = 3; // Mathematics, English, Science have their own classes per grade
const AUDIT_SPAN_DAYS = 913; // 30 months

export function validateSeedOptions(options: SeedOptions): void {
  for (const [name, [min, max]] of Object.entries(SEED_LIMITS)) {
    const value = options[name as keyof typeof SEED_LIMITS];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InputError(`must be a whole number from ${min} to ${max}, got ${value}`, `--${kebab(name)}`);
    }
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(options.today) || Number.isNaN(Date.parse(`${options.today}T00:00:00Z`))) {
    throw new InputError(`must be a date as YYYY-MM-DD, got ${options.today}`, '--today');
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The tenants a seed creates: profiles in turn, numbered when the list wraps around. */
export function seedTenantDescriptors(options: Pick<SeedOptions, 'seed' | 'tenants'>) {
  return Array.from({ length: options.tenants }, (_, index) => {
    const profile = SCHOOL_PROFILES[index % SCHOOL_PROFILES.length]!;
    const round = Math.floor(index / SCHOOL_PROFILES.length);
    const suffix = (round > 0 ? `-${round + 1}` : '') + (options.seed !== 1 ? `-s${options.seed}` : '');
    return {
      t: index + 1,
      slug: profile.slug + suffix,
      name: round > 0 ? `${profile.name} (Campus ${round + 1})` : profile.name,
      time_zone: profile.timeZone,
      locale: profile.locale,
      currency: profile.currency,
      region: profile.region,
      school_type: profile.schoolType,
      primary_color: profile.primaryColor,
      secondary_color: profile.secondaryColor,
      late_status: profile.lateStatus,
      tuition: profile.tuition,
    };
  });
}

/** A stride coprime with n, so class = f(stride * n mod N) spreads siblings over classes. */
function coprimeStride(n: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  for (let stride = 7919; ; stride += 2) if (gcd(stride, n) === 1) return stride;
}

type Trx = Transaction<Database>;

export async function generateSchoolData(db: Db, options: SeedOptions): Promise<SeedSummary> {
  validateSeedOptions(options);
  const started = Date.now();
  const tenants = seedTenantDescriptors(options);
  const rows: Record<string, number> = {};
  const stepMs: Record<string, number> = {};
  const timed = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await work();
    } finally {
      stepMs[step] = (stepMs[step] ?? 0) + Date.now() - t0;
    }
  };

  await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL work_mem = '256MB'`.execute(trx);
    await sql`SET LOCAL synchronous_commit = off`.execute(trx);
    await createHelpers(trx, options.seed);
    await stageTenants(trx, tenants);
    await skipTriggersWhenAllowed(trx);
    await timed('replace', () => replaceExistingTenants(trx));
    await ensurePartitionsFor(trx, options);

    const count = (name: string, query: ReturnType<typeof sql>) =>
      timed(name, async () => {
        const result = await query.execute(trx);
        rows[name] = (rows[name] ?? 0) + Number(result.numAffectedRows ?? 0n);
      });
    const p = params(options);
    await count('tenants', insertTenants());
    await stageCalendar(trx, p);
    await count('academic_terms', insertTerms());
    await count('users', insertStaffUsers(p));
    await count('teachers', insertTeachers(p));
    await count('subjects', insertSubjects());
    await timed('stage', () => stageStudents(trx, p));
    await count('students', insertStudents());
    await count('guardians', insertGuardians(p));
    await count('users', insertParentUsers());
    await count('student_guardians', insertStudentGuardians());
    await count('classes', insertClasses(p));
    await count('enrollments', insertEnrollments());
    await count('grades', insertGrades());
    // One statement per month: each fills one partition with its primary key in nearly
    // ascending order, instead of every student's row hopping across a dozen partitions.
    for (const month of await attendanceMonths(trx)) await count('attendance', insertAttendance(p, month));
    await stageInvoices(trx, p);
    await count('invoices', insertInvoices());
    await count('invoice_items', insertInvoiceItems());
    await count('payments', insertPayments(p));
    await count('audit_logs', insertAuditLogs(p));
    await dropHelpers(trx);
  });

  // Fresh statistics, so the first rollup or report plans against real row counts.
  await timed('analyze', async () => {
    for (const table of [
      'students',
      'guardians',
      'enrollments',
      'attendance',
      'invoices',
      'payments',
      'audit_logs',
    ]) {
      await sql.raw(`ANALYZE ${table}`).execute(db);
    }
  });

  return {
    seed: options.seed,
    today: options.today,
    tenants: tenants.map((t) => ({
      id: tenantId(options.seed, t.t),
      slug: t.slug,
      name: t.name,
      timeZone: t.time_zone,
      locale: t.locale,
    })),
    rows,
    stepMs,
    durationMs: Date.now() - started,
  };
}

/** The id the generator gives tenant number `t` (1-based) of `seed`; mirrors pg_temp.sid(1, t, 0). */
export function tenantId(seed: number, t: number): string {
  const hex =
    seed.toString(16).padStart(8, '0') +
    '0001' +
    '4' +
    t.toString(16).padStart(3, '0') +
    '8' +
    '0'.repeat(15);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function params(options: SeedOptions) {
  const classes = Math.ceil(options.students / STUDENTS_PER_CLASS);
  return {
    ...options,
    classes,
    // One homeroom teacher per class plus subject specialists.
    teachers: classes + 6,
    stride: coprimeStride(options.students),
  };
}
type Params = ReturnType<typeof params>;

async function createHelpers(trx: Trx, seed: number): Promise<void> {
  // sr(salt, key): a uniform number in [0, 1) from the key alone. sid(kind, t, n): the
  // deterministic UUID of row n of a kind in tenant t. pick(list, r): an element chosen by r.
  await sql
    .raw(`
      CREATE FUNCTION pg_temp.sr(salt int, key bigint) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT (hashint8extended(key, salt::bigint * 1000003 + ${seed}) & 2147483647)::float8 / 2147483648.0 $$;
      CREATE FUNCTION pg_temp.sid(kind int, t int, n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT (lpad(to_hex(${seed}), 8, '0') || lpad(to_hex(kind), 4, '0') || '4'
                      || lpad(to_hex(t), 3, '0') || '8' || lpad(to_hex(n), 15, '0'))::uuid $$;
      CREATE FUNCTION pg_temp.pick(list text[], r float8) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT list[1 + floor(r * array_length(list, 1))::int] $$;
      CREATE FUNCTION pg_temp.ascii_name(name text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT regexp_replace(lower(translate(name, 'ÁÀÂÄÃÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇáàâäãéèêëíìîïóòôöõúùûüñçễ',
                                                        'AAAAAEEEEIIIIOOOOOUUUUNCaaaaaeeeeiiiiooooouuuunce')), '[^a-z]', '', 'g') $$;
    `)
    .execute(trx);
}

async function dropHelpers(trx: Trx): Promise<void> {
  // Temporary functions live as long as the pooled session, not the transaction.
  await sql`DROP FUNCTION pg_temp.sr, pg_temp.sid, pg_temp.pick, pg_temp.ascii_name`.execute(trx);
}

async function stageTenants(trx: Trx, tenants: ReturnType<typeof seedTenantDescriptors>): Promise<void> {
  const names = Object.fromEntries(
    (Object.keys(FIRST_NAMES) as Region[]).map((region) => [
      region,
      { first: FIRST_NAMES[region], last: LAST_NAMES[region] },
    ]),
  );
  const allFirst = Object.values(FIRST_NAMES).flat();
  const allLast = Object.values(LAST_NAMES).flat();
  await sql`
    CREATE TEMP TABLE seed_tenants ON COMMIT DROP AS
    SELECT d.*, pg_temp.sid(1, d.t, 0) AS id,
           ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(names)}::jsonb -> d.region -> 'first')) AS first_names,
           ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(names)}::jsonb -> d.region -> 'last')) AS last_names,
           ${allFirst}::text[] AS all_first,
           ${allLast}::text[] AS all_last
    FROM jsonb_to_recordset(${JSON.stringify(tenants)}::jsonb) AS d(
      t int, slug text, name text, time_zone text, locale text, currency text, region text, school_type text,
      primary_color text, secondary_color text, late_status text, tuition numeric)
  `.execute(trx);
  const clash = await sql<{ slug: string }>`
    SELECT x.slug FROM tenants x JOIN seed_tenants s ON s.slug = x.slug AND s.id <> x.id LIMIT 1
  `.execute(trx);
  if (clash.rows[0]) {
    throw new InputError(
      `tenant slug ${clash.rows[0].slug} already belongs to another tenant; use another --seed`,
      '--seed',
    );
  }
}

/**
 * Remove a previous run of the same seed. Cascading from tenants would delete row by row through
 * foreign-key triggers (minutes at 10 million rows), so every table with a tenant_id, including
 * ones later migrations add, is emptied of these tenants with one set-based DELETE each, least
 * referenced tables first, and then the tenants themselves go. (With triggers skipped the order
 * does not matter; for other roles the remaining cascades find little left to do.)
 */
async function replaceExistingTenants(trx: Trx): Promise<void> {
  const { rows: counts } = await sql<{ mine: number; others: number }>`
    SELECT count(*) FILTER (WHERE id IN (SELECT id FROM seed_tenants)) AS mine,
           count(*) FILTER (WHERE id NOT IN (SELECT id FROM seed_tenants)) AS others
    FROM tenants`.execute(trx);
  if (!counts[0]?.mine) return;
  if (counts[0].others === 0) {
    // Only this seed's tenants exist: emptying every tenant table is instant and still
    // transactional (a failed seed rolls the truncation back); restarting the sequences makes
    // the re-run identical to a run on a fresh database.
    await sql`TRUNCATE tenants RESTART IDENTITY CASCADE`.execute(trx);
    return;
  }
  const { rows } = await sql<{ table_name: string }>`
    SELECT c.relname AS table_name
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    ORDER BY (SELECT count(*) FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.oid), c.relname`.execute(
    trx,
  );
  for (const { table_name } of rows) {
    await sql`DELETE FROM ${sql.table(table_name)} WHERE tenant_id IN (SELECT id FROM seed_tenants)`.execute(
      trx,
    );
  }
  await sql`DELETE FROM tenants WHERE id IN (SELECT id FROM seed_tenants)`.execute(trx);
}

async function ensurePartitionsFor(trx: Trx, options: SeedOptions): Promise<void> {
  const today = new Date(`${options.today}T00:00:00Z`);
  // Attendance reaches back at most ~2.3 calendar days per school day; audit logs 30 months.
  const earliestDay = new Date(today.getTime() - (options.days * 2 + 130) * 86_400_000);
  await ensureMonthlyPartitions(trx, 'attendance', earliestDay, addMonths(today, 3));
  if (options.auditRows > 0) {
    await ensureMonthlyPartitions(trx, 'audit_logs', addMonths(today, -31), addMonths(today, 3));
  }
}

/**
 * Generated rows are consistent by construction (every reference points at a row created in the
 * same transaction) and the replaced tenants are removed from every table explicitly, so a
 * superuser skips the per-row foreign-key and change-tracking triggers for the bulk work: at 10
 * million rows they cost more than the insert itself. Any other role gets the same rows with
 * every check running. The generator's tests check referential integrity afterwards.
 */
async function skipTriggersWhenAllowed(trx: Trx): Promise<void> {
  const { rows } = await sql<{ superuser: boolean }>`
    SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`.execute(trx);
  if (rows[0]?.superuser) {
    await sql`SET LOCAL session_replication_role = replica`.execute(trx);
    // A bulk load writes mostly full-page images to the WAL; compressing them halves its volume.
    await sql`SET LOCAL wal_compression = on`.execute(trx);
  }
}

function insertTenants() {
  return sql`
    INSERT INTO tenants (id, slug, name, school_type, email, website, time_zone, locale, currency,
                         primary_color, secondary_color, settings)
    SELECT id, slug, name, school_type, 'office@' || slug || '.example.org', 'https://' || slug || '.example.org',
           time_zone, locale, currency, primary_color, secondary_color, '{}'::jsonb
    FROM seed_tenants`;
}

async function stageCalendar(trx: Trx, p: Params): Promise<void> {
  // School days: weekdays outside the summer (July to 19 August) and winter (22 December to
  // 2 January) breaks and each school's own holidays, counted back from the day before `today`.
  await sql`
    CREATE TEMP TABLE seed_days ON COMMIT DROP AS
    WITH calendar AS (
      SELECT st.t, st.id AS tenant_id, st.time_zone, g::date AS day
      FROM seed_tenants st,
           generate_series(${p.today}::date - (${p.days}::int * 2 + 130), ${p.today}::date - 1, interval '1 day') g
      WHERE extract(isodow FROM g) < 6
        AND NOT (extract(month FROM g) = 7 OR (extract(month FROM g) = 8 AND extract(day FROM g) < 20))
        AND NOT ((extract(month FROM g) = 12 AND extract(day FROM g) >= 22) OR (extract(month FROM g) = 1 AND extract(day FROM g) <= 2))
        AND pg_temp.sr(10 + st.t, g::date - date '2000-01-01') >= 0.03
    ), ranked AS (
      SELECT *, row_number() OVER (PARTITION BY t ORDER BY day DESC) AS rn FROM calendar
    )
    SELECT t, tenant_id, day, (${p.days}::int - rn)::int AS d_idx,
           CASE WHEN extract(month FROM day) >= 8 THEN extract(year FROM day)::int ELSE extract(year FROM day)::int - 1 END AS ay,
           -- About one day in twelve a cold goes round: excused absences cluster on those days.
           pg_temp.sr(20 + t, day - date '2000-01-01') < 0.08 AS sick_day,
           (day + time '08:40') AT TIME ZONE time_zone AS marked_at
    FROM ranked WHERE rn <= ${p.days}::int`.execute(trx);
  await sql`
    CREATE TEMP TABLE seed_years ON COMMIT DROP AS
    SELECT t, tenant_id, ay, ay || '-' || lpad(((ay + 1) % 100)::text, 2, '0') AS label,
           ay = max(ay) OVER (PARTITION BY t) AS current, min(day) AS first_day
    FROM seed_days GROUP BY t, tenant_id, ay`.execute(trx);
}

function insertTerms() {
  return sql`
    INSERT INTO academic_terms (id, tenant_id, name, academic_year, kind, start_date, end_date)
    SELECT pg_temp.sid(7, y.t, y.ay * 10 + k.k), y.tenant_id, y.label || k.suffix, y.label, k.kind,
           make_date(y.ay + k.start_year, k.start_month, k.start_day), make_date(y.ay + k.end_year, k.end_month, k.end_day)
    FROM seed_years y
    CROSS JOIN (VALUES (0, '', 'year', 0, 8, 20, 1, 6, 30),
                       (1, ' Semester 1', 'semester', 0, 8, 20, 0, 12, 21),
                       (2, ' Semester 2', 'semester', 1, 1, 3, 1, 6, 30))
         AS k(k, suffix, kind, start_year, start_month, start_day, end_year, end_month, end_day)`;
}

function insertStaffUsers(p: Params) {
  // n = 1 admin, 2 principal, 3 office staff, 10.. teachers.
  return sql`
    INSERT INTO users (id, tenant_id, email, first_name, last_name, role, status, locale, last_login)
    SELECT pg_temp.sid(2, st.t, u.n), st.id,
           CASE u.n WHEN 1 THEN 'admin' WHEN 2 THEN 'principal' WHEN 3 THEN 'office' ELSE 'teacher' || (u.n - 9) END
             || '@' || st.slug || '.example.org',
           pg_temp.pick(st.first_names, pg_temp.sr(1, st.t * 100000 + u.n)),
           pg_temp.pick(st.last_names, pg_temp.sr(2, st.t * 100000 + u.n)),
           CASE u.n WHEN 1 THEN 'admin' WHEN 2 THEN 'principal' WHEN 3 THEN 'staff' ELSE 'teacher' END,
           'active', st.locale,
           (${p.today}::date - (pg_temp.sr(3, st.t * 100000 + u.n) * 20)::int + time '07:55') AT TIME ZONE st.time_zone
    FROM seed_tenants st,
         (SELECT generate_series(1, 3) AS n UNION ALL SELECT generate_series(10, 9 + ${p.teachers}::int)) u`;
}

function insertTeachers(p: Params) {
  return sql`
    INSERT INTO teachers (id, tenant_id, user_id, employee_id, first_name, last_name, email, department, hire_date, subjects_taught)
    SELECT pg_temp.sid(3, u_t.t, k), u.tenant_id, u.id, 'E' || lpad(k::text, 4, '0'), u.first_name, u.last_name, u.email,
           CASE WHEN k > ${p.classes}::int THEN 'Subject specialists' ELSE 'Homeroom' END,
           ${p.today}::date - (365 + pg_temp.sr(4, u_t.t * 100000 + k) * 3650)::int,
           ARRAY[(${SUBJECTS}::text[])[1 + k % ${SUBJECTS.length}::int]]
    FROM (SELECT t, id AS tenant_id FROM seed_tenants) u_t
    CROSS JOIN generate_series(1, ${p.teachers}::int) k
    JOIN users u ON u.tenant_id = u_t.tenant_id AND u.id = pg_temp.sid(2, u_t.t, 9 + k)`;
}

function insertSubjects() {
  return sql`
    INSERT INTO subjects (id, tenant_id, name, code, is_core)
    SELECT pg_temp.sid(6, st.t, s.i), st.id, s.name, upper(left(s.name, 4)) || s.i, s.i <= ${CORE_SUBJECTS}::int
    FROM seed_tenants st, unnest(${SUBJECTS}::text[]) WITH ORDINALITY AS s(name, i)`;
}

async function stageStudents(trx: Trx, p: Params): Promise<void> {
  // Families of one to three children (55%, 30%, 15%) laid end to end over the student numbers:
  // each family's first number is the running sum of the sizes before it.
  await sql`
    CREATE TEMP TABLE seed_families ON COMMIT DROP AS
    WITH sizes AS (
      SELECT st.t, f,
             CASE WHEN r < 0.55 THEN 1 WHEN r < 0.85 THEN 2 ELSE 3 END AS size,
             pg_temp.sr(41, st.t::bigint * 10000000 + f) < 0.70 AS two_guardians,
             pg_temp.pick(CASE WHEN pg_temp.sr(42, st.t::bigint * 10000000 + f) < 0.15 THEN st.all_last ELSE st.last_names END,
                          pg_temp.sr(43, st.t::bigint * 10000000 + f)) AS last_name
      FROM seed_tenants st, generate_series(1, ${p.students}::int) f,
           LATERAL (SELECT pg_temp.sr(40, st.t::bigint * 10000000 + f) AS r) x
    )
    SELECT t, f, size, two_guardians, last_name,
           (sum(size) OVER (PARTITION BY t ORDER BY f) - size + 1)::int AS first_n
    FROM sizes`.execute(trx);
  await sql`DELETE FROM seed_families WHERE first_n > ${p.students}::int`.execute(trx);
  await sql`
    CREATE TEMP TABLE seed_students ON COMMIT DROP AS
    SELECT st.t, st.id AS tenant_id, n, st.t::bigint * 10000000 + n AS key, pg_temp.sid(4, st.t, n) AS id,
           fam.f AS family, fam.last_name, fam.two_guardians, st.late_status,
           c.class_n, c.class_n % 13 AS grade,
           pg_temp.pick(CASE WHEN pg_temp.sr(31, st.t::bigint * 10000000 + n) < 0.15 THEN st.all_first ELSE st.first_names END,
                        pg_temp.sr(32, st.t::bigint * 10000000 + n)) AS first_name,
           -- About 8% are chronic absentees (missing 12-30% of days); the rest miss 0.5-5.5%.
           CASE WHEN chronic.r < 0.08 THEN 0.12 + 0.18 * pg_temp.sr(34, st.t::bigint * 10000000 + n)
                ELSE 0.005 + 0.05 * pg_temp.sr(34, st.t::bigint * 10000000 + n) END AS absence_p,
           0.01 + 0.07 * pg_temp.sr(35, st.t::bigint * 10000000 + n) AS late_p
    FROM seed_tenants st
    JOIN seed_families fam ON fam.t = st.t
    CROSS JOIN LATERAL generate_series(fam.first_n, least(fam.first_n + fam.size - 1, ${p.students}::int)) n
    CROSS JOIN LATERAL (SELECT ((((n - 1)::bigint * ${p.stride}::int) % ${p.students}::int) / ${STUDENTS_PER_CLASS}::int)::int AS class_n) c
    CROSS JOIN LATERAL (SELECT pg_temp.sr(33, st.t::bigint * 10000000 + n) AS r) chronic`.execute(trx);
  await sql`CREATE INDEX ON seed_students (t, n)`.execute(trx);
  await sql`ANALYZE seed_students`.execute(trx);
}

/** Grade number to label: -1 pre-kindergarten, 0 kindergarten, then 1 to 12. */
function gradeLabel(expression: string) {
  return sql.raw(
    `(CASE WHEN ${expression} < 0 THEN 'PK' WHEN ${expression} = 0 THEN 'K' ELSE (${expression})::text END)`,
  );
}

function insertStudents() {
  return sql`
    INSERT INTO students (id, tenant_id, student_number, first_name, last_name, date_of_birth, gender, grade_level,
                          admission_date, status)
    SELECT s.id, s.tenant_id, 'S' || lpad(s.n::text, 6, '0'), s.first_name, s.last_name,
           make_date(y.ay - 5 - s.grade, 1, 1) + (pg_temp.sr(36, s.key) * 364)::int,
           CASE WHEN pg_temp.sr(37, s.key) < 0.49 THEN 'female' WHEN pg_temp.sr(37, s.key) < 0.98 THEN 'male' ELSE 'other' END,
           ${gradeLabel('s.grade')},
           make_date(y.ay - s.grade - 1, 8, 20),
           CASE WHEN pg_temp.sr(38, s.key) < 0.01 THEN 'withdrawn' ELSE 'active' END
    FROM seed_students s JOIN seed_years y ON y.t = s.t AND y.current`;
}

function insertGuardians(p: Params) {
  // Guardian numbers 2f-1 and 2f belong to family f. A few have no email, a handful an invalid
  // one, some opted out of digests, and some prefer another language than the school's.
  return sql`
    INSERT INTO guardians (id, tenant_id, first_name, last_name, email, phone, locale, digest_opt_out, digest_opted_out_at)
    SELECT pg_temp.sid(5, st.t, g.n), st.id,
           pg_temp.pick(st.first_names, pg_temp.sr(50, st.t::bigint * 10000000 + g.n)),
           CASE WHEN g.second AND pg_temp.sr(51, st.t::bigint * 10000000 + g.n) < 0.2
                THEN pg_temp.pick(st.last_names, pg_temp.sr(52, st.t::bigint * 10000000 + g.n)) ELSE f.last_name END,
           CASE WHEN r.email < 0.03 THEN NULL
                WHEN r.email < 0.033 THEN 'not-an-email-address'
                ELSE 'g' || g.n || '.' || coalesce(nullif(pg_temp.ascii_name(f.last_name), ''), 'family') || '@example.net' END,
           '+1-555-' || lpad((g.n % 10000)::text, 4, '0'),
           CASE WHEN r.locale < 0.85 THEN st.locale
                WHEN r.locale < 0.995 THEN pg_temp.pick(${GUARDIAN_LOCALES}::text[], pg_temp.sr(54, st.t::bigint * 10000000 + g.n))
                ELSE 'de-DE' END,
           r.opt_out < 0.04,
           CASE WHEN r.opt_out < 0.04 THEN (${p.today}::date - 30 - (r.locale * 300)::int + time '20:15') AT TIME ZONE 'UTC' END
    FROM seed_tenants st
    JOIN seed_families f ON f.t = st.t
    CROSS JOIN LATERAL (SELECT f.f * 2 - 1 AS n, false AS second UNION ALL SELECT f.f * 2, true WHERE f.two_guardians) g
    CROSS JOIN LATERAL (SELECT pg_temp.sr(53, st.t::bigint * 10000000 + g.n) AS email,
                               pg_temp.sr(55, st.t::bigint * 10000000 + g.n) AS locale,
                               pg_temp.sr(56, st.t::bigint * 10000000 + g.n) AS opt_out) r`;
}

function insertParentUsers() {
  // About 40% of guardians with a valid address have a parent portal account.
  return sql`
    WITH created AS (
      INSERT INTO users (id, tenant_id, email, first_name, last_name, role, locale)
      SELECT md5('parent-user:' || g.id)::uuid, g.tenant_id, g.email, g.first_name, g.last_name, 'parent', g.locale
      FROM guardians g JOIN seed_tenants st ON st.id = g.tenant_id
      WHERE g.email LIKE '%@%' AND pg_temp.sr(57, hashtext(g.id::text)) < 0.4
      RETURNING id, tenant_id, email
    )
    UPDATE guardians g SET user_id = c.id FROM created c WHERE g.tenant_id = c.tenant_id AND g.email = c.email`;
}

function insertStudentGuardians() {
  return sql`
    INSERT INTO student_guardians (tenant_id, student_id, guardian_id, relationship, is_primary)
    SELECT s.tenant_id, s.id, pg_temp.sid(5, s.t, s.family * 2 - 1 + g.second::int),
           CASE WHEN NOT g.second THEN (CASE WHEN pg_temp.sr(58, s.t::bigint * 10000000 + s.family) < 0.53 THEN 'mother'
                                             WHEN pg_temp.sr(58, s.t::bigint * 10000000 + s.family) < 0.9 THEN 'father'
                                             ELSE 'guardian' END)
                ELSE (CASE WHEN pg_temp.sr(58, s.t::bigint * 10000000 + s.family) < 0.53 THEN 'father'
                           WHEN pg_temp.sr(58, s.t::bigint * 10000000 + s.family) < 0.9 THEN 'mother'
                           ELSE 'grandparent' END) END,
           NOT g.second
    FROM seed_students s
    CROSS JOIN LATERAL (SELECT false AS second UNION ALL SELECT true WHERE s.two_guardians) g`;
}

function insertClasses(p: Params) {
  // One homeroom per 25 students per academic year (daily attendance is taken there) and, in the
  // current year, a class per grade for each core subject.
  return sql`
    INSERT INTO classes (id, tenant_id, class_code, name, section, subject_id, grade_level, academic_year, is_homeroom,
                         teacher_id, room, capacity, start_date, end_date, status)
    SELECT pg_temp.sid(8, y.t, y.ay::bigint * 100000 + c.n), y.tenant_id,
           'HR-' || lpad(c.n::text, 4, '0'), 'Homeroom ' || ${gradeLabel('gl.g')} || '-' || chr(65 + (c.n / 13) % 26),
           chr(65 + (c.n / 13) % 26), NULL, ${gradeLabel('gl.g')}, y.label, true, pg_temp.sid(3, y.t, 1 + c.n % ${p.teachers}::int), 'R' || (100 + c.n), 30,
           make_date(y.ay, 8, 20), make_date(y.ay + 1, 6, 30), CASE WHEN y.current THEN 'active' ELSE 'completed' END
    FROM seed_years y CROSS JOIN generate_series(0, ${p.classes}::int - 1) c(n)
    -- Last year's homerooms held the same children one grade lower.
    CROSS JOIN LATERAL (SELECT c.n % 13 - (NOT y.current)::int AS g) gl
    UNION ALL
    SELECT pg_temp.sid(8, y.t, 900000000 + g.g * 10 + s.i), y.tenant_id,
           upper(left(s.name, 4)) || '-' || lpad(g.g::text, 2, '0'), s.name || ' ' || ${gradeLabel('g.g')}, NULL,
           pg_temp.sid(6, y.t, s.i), ${gradeLabel('g.g')}, y.label, false,
           pg_temp.sid(3, y.t, ${p.classes}::int + s.i), 'L' || (10 * g.g + s.i), 600,
           make_date(y.ay, 8, 20), make_date(y.ay + 1, 6, 30), 'active'
    FROM seed_years y CROSS JOIN generate_series(0, 12) g(g)
    CROSS JOIN unnest(${SUBJECTS.slice(0, CORE_SUBJECTS)}::text[]) WITH ORDINALITY AS s(name, i)
    WHERE y.current`;
}

function insertEnrollments() {
  return sql`
    INSERT INTO enrollments (id, tenant_id, student_id, class_id, enrollment_date, status)
    SELECT pg_temp.sid(9, s.t, s.n * 16 + (y.ay % 8)), s.tenant_id, s.id, pg_temp.sid(8, s.t, y.ay::bigint * 100000 + s.class_n),
           y.first_day, CASE WHEN y.current THEN 'active' ELSE 'completed' END
    FROM seed_students s JOIN seed_years y ON y.t = s.t
    UNION ALL
    SELECT pg_temp.sid(9, s.t, s.n * 16 + 8 + i), s.tenant_id, s.id, pg_temp.sid(8, s.t, 900000000 + s.grade * 10 + i),
           y.first_day, 'active'
    FROM seed_students s JOIN seed_years y ON y.t = s.t AND y.current
    CROSS JOIN generate_series(1, ${CORE_SUBJECTS}::int) i`;
}

function insertGrades() {
  return sql`
    INSERT INTO grades (id, tenant_id, enrollment_id, assignment_name, assignment_type, points_possible, points_earned,
                        letter_grade, assigned_date, graded_at)
    SELECT pg_temp.sid(10, s.t, (s.n * 16 + 8 + i) * 4 + a), s.tenant_id, pg_temp.sid(9, s.t, s.n * 16 + 8 + i),
           CASE a WHEN 1 THEN 'Unit test 1' ELSE 'Homework set ' || a END,
           CASE a WHEN 1 THEN 'test' ELSE 'homework' END,
           100, x.score,
           CASE WHEN x.score >= 90 THEN 'A' WHEN x.score >= 80 THEN 'B' WHEN x.score >= 70 THEN 'C' WHEN x.score >= 60 THEN 'D' ELSE 'F' END,
           y.first_day + 14 * a, (y.first_day + 14 * a + 7 + time '16:00') AT TIME ZONE 'UTC'
    FROM seed_students s JOIN seed_years y ON y.t = s.t AND y.current
    CROSS JOIN generate_series(1, ${CORE_SUBJECTS}::int) i
    CROSS JOIN generate_series(1, 2) a
    CROSS JOIN LATERAL (SELECT round((45 + 55 * pg_temp.sr(60 + a, s.key * 8 + i))::numeric, 1) AS score) x`;
}

async function attendanceMonths(trx: Trx): Promise<string[]> {
  const { rows } = await sql<{ month: string }>`
    SELECT DISTINCT date_trunc('month', day)::date AS month FROM seed_days ORDER BY 1`.execute(trx);
  return rows.map((r) => r.month);
}

function insertAttendance(p: Params, month: string) {
  return sql`
    INSERT INTO attendance (tenant_id, student_id, attendance_date, period, class_id, status, reason, marked_by, marked_at, updated_at)
    SELECT s.tenant_id, s.id, d.day, 0,
           pg_temp.sid(8, s.t, d.ay::bigint * 100000 + s.class_n),
           m.status,
           CASE m.status
             WHEN 'present' THEN NULL
             WHEN 'excused' THEN pg_temp.pick(${ABSENCE_REASONS}::text[], pg_temp.sr(72, s.key * 1024 + d.d_idx))
             WHEN 'absent' THEN CASE WHEN pg_temp.sr(73, s.key * 1024 + d.d_idx) < 0.3
                                     THEN pg_temp.pick(${ABSENCE_REASONS}::text[], pg_temp.sr(72, s.key * 1024 + d.d_idx)) END
             ELSE CASE WHEN pg_temp.sr(73, s.key * 1024 + d.d_idx) < 0.5
                       THEN pg_temp.pick(${LATE_REASONS}::text[], pg_temp.sr(72, s.key * 1024 + d.d_idx)) END
           END,
           pg_temp.sid(2, s.t, 10 + s.class_n % ${p.teachers}::int),
           d.marked_at, d.marked_at
    FROM seed_students s
    JOIN seed_days d ON d.t = s.t AND d.day >= ${month}::date AND d.day < ${month}::date + interval '1 month'
    CROSS JOIN LATERAL (SELECT pg_temp.sr(70, s.key * 1024 + d.d_idx) AS r) x
    CROSS JOIN LATERAL (
      SELECT CASE
               WHEN d.sick_day AND x.r < 0.07 THEN 'excused'
               WHEN x.r < s.absence_p THEN CASE WHEN pg_temp.sr(71, s.key * 1024 + d.d_idx) < 0.35 THEN 'excused' ELSE 'absent' END
               WHEN x.r < s.absence_p + s.late_p THEN s.late_status
               ELSE 'present'
             END AS status) m`;
}

async function stageInvoices(trx: Trx, p: Params): Promise<void> {
  // A tuition invoice per student per semester that has started, and a transport invoice for
  // about 30% of students. Each invoice gets a payment behaviour; a few carry the anomalies the
  // reconciliation job must report (negative amount, foreign currency, items not summing).
  await sql`
    CREATE TEMP TABLE seed_invoices ON COMMIT DROP AS
    SELECT s.t, s.tenant_id, s.n, s.id AS student_id, pg_temp.sid(5, s.t, s.family * 2 - 1) AS guardian_id,
           st.currency, term.start_date AS issue_date, term.start_date + 30 AS due_date, term.academic_year,
           k.kind, s.key * 32 + term.k * 4 + k.i AS key, term.k * 4 + k.i AS slot,
           pg_temp.sid(11, s.t, s.n * 32 + term.k * 4 + k.i) AS id,
           round(st.tuition * (1 + s.grade * 0.03) * k.share, 2) AS total,
           pg_temp.sr(80, s.key * 32 + term.k * 4 + k.i) AS behaviour,
           pg_temp.sr(81, s.key * 32 + term.k * 4 + k.i) AS anomaly
    FROM seed_students s
    JOIN seed_tenants st ON st.t = s.t
    JOIN LATERAL (
      SELECT start_date, academic_year, row_number() OVER (ORDER BY start_date)::int AS k
      FROM academic_terms WHERE tenant_id = s.tenant_id AND kind = 'semester' AND start_date < ${p.today}::date
    ) term ON true
    CROSS JOIN LATERAL (SELECT 1 AS i, 'Tuition' AS kind, 1.0 AS share
                        UNION ALL SELECT 2, 'Transport', 0.25 WHERE pg_temp.sr(82, s.key) < 0.3) k`.execute(
    trx,
  );
}

// Behaviour bands over seed_invoices.behaviour.
const DRAFT = 0.03;
const CANCELLED = 0.08;
const PAID = 0.6;
const PARTIAL = 0.72;
const OVERPAID = 0.76;
const REFUNDED = 0.82;
const VOIDED = 0.85;
const FAILED_THEN_PAID = 0.87;

function insertInvoices() {
  // Stored status is what seed 003's trigger would have left: "paid" once all payment rows
  // (whatever their state) reach the total, otherwise the status at issue. amount_paid and
  // balance_due were never maintained. The reconciliation job makes them true.
  return sql`
    INSERT INTO invoices (id, tenant_id, invoice_number, student_id, guardian_id, description, currency, issue_date, due_date,
                          total_amount, amount_paid, balance_due, status)
    SELECT i.id, i.tenant_id, 'INV-' || i.academic_year || '-' || lpad(i.n::text, 6, '0') || '-' || i.slot,
           i.student_id, i.guardian_id, i.kind || ' ' || i.academic_year, i.currency, i.issue_date, i.due_date,
           i.total, 0, i.total,
           CASE WHEN i.behaviour < ${DRAFT} THEN 'draft'
                WHEN i.behaviour < ${CANCELLED} THEN 'cancelled'
                WHEN i.behaviour < ${PAID} OR (i.behaviour >= ${PARTIAL} AND i.behaviour < ${VOIDED}) THEN 'paid'
                WHEN i.behaviour < ${FAILED_THEN_PAID} THEN 'paid'
                WHEN pg_temp.sr(83, i.key) < 0.5 THEN 'sent' ELSE 'pending' END
    FROM seed_invoices i`;
}

function insertInvoiceItems() {
  return sql`
    INSERT INTO invoice_items (id, tenant_id, invoice_id, description, quantity, unit_price)
    SELECT pg_temp.sid(12, i.t, (i.n * 32 + i.slot) * 4 + it.k), i.tenant_id, i.id, it.description, 1, it.price
    FROM seed_invoices i
    CROSS JOIN LATERAL (
      SELECT 1 AS k, i.kind || ' fee' AS description, CASE WHEN i.kind = 'Tuition' THEN round(i.total * 0.8, 2) ELSE i.total END AS price
      UNION ALL
      -- About 0.5% of invoices have items that do not add up to the total.
      SELECT 2, 'Activities and materials', i.total - round(i.total * 0.8, 2) + CASE WHEN i.anomaly > 0.995 THEN 10 ELSE 0 END
      WHERE i.kind = 'Tuition'
    ) it`;
}

function insertPayments(p: Params) {
  return sql`
    INSERT INTO payments (id, tenant_id, invoice_id, kind, status, amount, currency, method, transaction_id, paid_at)
    SELECT pg_temp.sid(13, i.t, (i.n * 32 + i.slot) * 4 + pay.k), i.tenant_id, i.id, pay.kind, pay.status,
           CASE WHEN i.anomaly < 0.001 AND pay.k = 1 THEN -pay.amount ELSE pay.amount END,
           CASE WHEN i.anomaly >= 0.001 AND i.anomaly < 0.002 AND pay.k = 1
                THEN CASE WHEN i.currency = 'USD' THEN 'EUR' ELSE 'USD' END ELSE i.currency END,
           pg_temp.pick(ARRAY['card', 'bank_transfer', 'online', 'cash', 'cheque'], pg_temp.sr(84, i.key * 4 + pay.k)),
           'TX-' || replace(pg_temp.sid(13, i.t, (i.n * 32 + i.slot) * 4 + pay.k)::text, '-', ''),
           (least(i.issue_date + pay.after_days, ${p.today}::date - 1) + time '10:30') AT TIME ZONE 'UTC'
    FROM seed_invoices i
    CROSS JOIN LATERAL (VALUES
      -- (k, kind, status, amount, days after issue)
      (1, 'payment',
          CASE WHEN i.behaviour >= ${REFUNDED} AND i.behaviour < ${VOIDED} THEN 'voided'
               WHEN i.behaviour >= ${VOIDED} AND i.behaviour < ${FAILED_THEN_PAID} THEN 'failed' ELSE 'settled' END,
          CASE WHEN i.behaviour < ${CANCELLED} THEN NULL
               WHEN i.behaviour < ${PAID} THEN CASE WHEN pg_temp.sr(85, i.key) < 0.7 THEN i.total ELSE round(i.total / 2, 2) END
               WHEN i.behaviour < ${PARTIAL} THEN round(i.total * 0.4, 2)
               WHEN i.behaviour < ${OVERPAID} THEN i.total + 25
               WHEN i.behaviour < ${FAILED_THEN_PAID} THEN i.total
               ELSE NULL END,
          5 + (pg_temp.sr(86, i.key) * 20)::int),
      (2, 'payment', 'settled',
          CASE WHEN i.behaviour >= ${CANCELLED} AND i.behaviour < ${PAID} AND pg_temp.sr(85, i.key) >= 0.7 THEN i.total - round(i.total / 2, 2)
               WHEN i.behaviour >= ${VOIDED} AND i.behaviour < ${FAILED_THEN_PAID} THEN i.total
               ELSE NULL END,
          28),
      (3, 'refund', 'settled',
          CASE WHEN i.behaviour >= ${OVERPAID} AND i.behaviour < ${REFUNDED} THEN round(i.total / 2, 2) ELSE NULL END,
          40)
    ) AS pay(k, kind, status, amount, after_days)
    WHERE pay.amount IS NOT NULL`;
}

function insertAuditLogs(p: Params) {
  return sql`
    INSERT INTO audit_logs (tenant_id, created_at, actor, user_id, user_role, action, resource_type, resource_id,
                            old_values, new_values, ip_address, user_agent, request_method, success)
    SELECT st.id,
           ${p.today}::date::timestamp AT TIME ZONE 'UTC' - pg_temp.sr(90, k) * interval '${sql.raw(String(AUDIT_SPAN_DAYS))} days',
           'user',
           pg_temp.sid(2, st.t, CASE WHEN pg_temp.sr(91, k) < 0.3 THEN 1 ELSE 10 + (pg_temp.sr(92, k) * ${p.teachers}::int)::int END),
           CASE WHEN pg_temp.sr(91, k) < 0.3 THEN 'admin' ELSE 'teacher' END,
           a.action, a.resource,
           pg_temp.sid(4, st.t, 1 + (pg_temp.sr(93, k) * ${p.students}::int)::int),
           CASE WHEN a.action = 'update' THEN '{"status": "absent"}'::jsonb END,
           CASE WHEN a.action IN ('update', 'create') THEN '{"status": "present"}'::jsonb END,
           ('10.' || (k % 250) || '.' || (k / 250 % 250) || '.' || (1 + k % 7))::inet,
           'Mozilla/5.0 (school portal)',
           CASE a.action WHEN 'create' THEN 'POST' WHEN 'update' THEN 'PUT' WHEN 'delete' THEN 'DELETE' ELSE 'GET' END,
           pg_temp.sr(94, k) > 0.01
    FROM seed_tenants st
    CROSS JOIN generate_series(1, ${p.auditRows}::int) g
    CROSS JOIN LATERAL (SELECT st.t::bigint * 100000000 + g AS k) key(k)
    CROSS JOIN LATERAL (
      SELECT pg_temp.pick(ARRAY['create', 'update', 'update', 'update', 'view', 'login', 'export', 'delete'], pg_temp.sr(95, k)) AS action,
             pg_temp.pick(ARRAY['attendance', 'attendance', 'student', 'grade', 'invoice', 'payment', 'enrollment'], pg_temp.sr(96, k)) AS resource
    ) a`;
}
