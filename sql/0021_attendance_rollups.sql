-- Attendance rollups (issue 4): monthly figures per student, average daily attendance per school
-- and day, chronic absenteeism flags, and the dirty set that makes the nightly run incremental.
--
-- Every figure here is derived from attendance_days() (0020) under the tenant's policy, so the
-- rollups, digests and exports agree. The attendance-rollup job owns all of these tables: it
-- writes them as the maintenance role, always filtering tenant_id explicitly, and rewrites a row
-- only when a value changed (a second run writes nothing).

-- One row per student and calendar month with any mark. Term-to-date and year-to-date figures
-- are sums of these rows (plus, for a range that starts or ends mid-month, the edge days read
-- live; see jobs/attendance/figures.ts).
CREATE TABLE attendance_monthly (
  tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  student_id         uuid NOT NULL,
  month              date NOT NULL CHECK (extract(day FROM month) = 1),
  -- Days with any mark, whatever the policy made of them.
  school_days        integer NOT NULL CHECK (school_days >= 0),
  days_in_membership integer NOT NULL CHECK (days_in_membership >= 0),
  -- attended = present + tardy
  days_attended      integer NOT NULL CHECK (days_attended >= 0),
  days_present       integer NOT NULL CHECK (days_present >= 0),
  days_tardy         integer NOT NULL CHECK (days_tardy >= 0),
  days_absent        integer NOT NULL CHECK (days_absent >= 0),
  days_excused       integer NOT NULL CHECK (days_excused >= 0),
  -- The last marked day counted. A changed day after it was not counted before, so the nightly
  -- run can add that day's figures instead of recomputing the month (the common case: today's
  -- marks); a change on or before it recomputes the student's month.
  last_day           date NOT NULL,
  computed_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, student_id, month),
  FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX attendance_monthly_month_idx ON attendance_monthly (tenant_id, month);

-- The nightly run rewrites these rows in place (today's marks added to the month, enrollment
-- summaries, chronic figures). None of the rewritten columns is indexed, so with free room on the
-- page PostgreSQL makes them HOT updates: no index entries, far less WAL. The rollup owns the
-- enrollment summary columns (sql/0003), hence the setting on enrollments too.
ALTER TABLE attendance_monthly SET (fillfactor = 80);
ALTER TABLE enrollments SET (fillfactor = 80);

-- Average daily attendance per school (tenant) and day: attended student-days over student-days
-- in membership.
CREATE TABLE attendance_daily_school (
  tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  attendance_date    date NOT NULL,
  students_marked    integer NOT NULL CHECK (students_marked >= 0),
  days_in_membership integer NOT NULL CHECK (days_in_membership >= 0),
  days_attended      integer NOT NULL CHECK (days_attended >= 0),
  days_tardy         integer NOT NULL CHECK (days_tardy >= 0),
  days_absent        integer NOT NULL CHECK (days_absent >= 0),
  days_excused       integer NOT NULL CHECK (days_excused >= 0),
  ada                numeric(5, 2) CHECK (ada BETWEEN 0 AND 100),
  computed_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, attendance_date)
);

-- Chronic absenteeism per student and academic year (the tenant's 'year' term, else August to
-- July). first_flagged_on is the run date on which the flag first turned on for that year; it is
-- kept when the flag later turns off, so "since when" survives a good month.
CREATE TABLE attendance_chronic_absence (
  tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  student_id         uuid NOT NULL,
  year_start         date NOT NULL,
  year_end           date NOT NULL,
  days_in_membership integer NOT NULL CHECK (days_in_membership >= 0),
  days_missed        integer NOT NULL CHECK (days_missed >= 0),
  absence_rate       numeric(5, 2) CHECK (absence_rate BETWEEN 0 AND 100),
  is_chronic         boolean NOT NULL,
  first_flagged_on   date,
  computed_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, student_id, year_start),
  FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE attendance_chronic_absence SET (fillfactor = 80);
CREATE INDEX attendance_chronic_flagged_idx ON attendance_chronic_absence (tenant_id, year_start) WHERE is_chronic;

-- Per tenant: the policy the rollups were last computed with (a changed policy forces a full
-- rebuild) and when anything last changed (mv-refresh skips views whose sources did not change).
CREATE TABLE attendance_rollup_state (
  tenant_id       uuid NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  policy          jsonb NOT NULL,
  last_run_at     timestamptz NOT NULL,
  last_full_at    timestamptz,
  last_changed_at timestamptz
);

-- The dirty set: (student, day) pairs whose marks changed since the last run, filled by the
-- statement triggers below. No foreign keys on purpose: the triggers also fire for the cascaded
-- deletes of a student or tenant, and a key pointing at the row being deleted would block that
-- delete. The job drops entries of tenants that no longer exist.
CREATE TABLE attendance_rollup_dirty (
  tenant_id       uuid NOT NULL,
  student_id      uuid NOT NULL,
  attendance_date date NOT NULL,
  PRIMARY KEY (tenant_id, student_id, attendance_date)
);

-- Entries a run has claimed. Claiming moves them out of the dirty table in a short transaction
-- of its own, so a teacher marking attendance during a long run never waits on the run (its
-- trigger inserts a fresh dirty row instead of colliding with a row the run is deleting). The run
-- deletes its claims in the same transaction as its rollup writes; a failed run leaves them for
-- the next one.
CREATE TABLE attendance_rollup_claims (
  tenant_id       uuid NOT NULL,
  student_id      uuid NOT NULL,
  attendance_date date NOT NULL,
  PRIMARY KEY (tenant_id, student_id, attendance_date)
);

-- Statement-level triggers with transition tables: one INSERT ... SELECT DISTINCT per
-- statement instead of one per row, which matters for bulk imports. PostgreSQL allows transition
-- tables on a partitioned table's own statement triggers (not on its partitions), and they see
-- the rows routed to every partition. SECURITY DEFINER: whoever writes attendance may not be
-- allowed to write the dirty set directly.
CREATE FUNCTION attendance_mark_dirty() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO attendance_rollup_dirty (tenant_id, student_id, attendance_date)
    SELECT DISTINCT n.tenant_id, n.student_id, n.attendance_date FROM new_rows n
    ON CONFLICT DO NOTHING;
  END IF;
  -- An update may move a mark to another day or student: the old day changed too.
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO attendance_rollup_dirty (tenant_id, student_id, attendance_date)
    SELECT DISTINCT o.tenant_id, o.student_id, o.attendance_date FROM old_rows o
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER attendance_dirty_insert AFTER INSERT ON attendance
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attendance_mark_dirty();
CREATE TRIGGER attendance_dirty_update AFTER UPDATE ON attendance
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attendance_mark_dirty();
CREATE TRIGGER attendance_dirty_delete AFTER DELETE ON attendance
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION attendance_mark_dirty();

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'attendance_monthly', 'attendance_daily_school', 'attendance_chronic_absence',
    'attendance_rollup_state', 'attendance_rollup_dirty', 'attendance_rollup_claims'
  ] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
      'WITH CHECK (tenant_id = app_current_tenant())', t);
  END LOOP;
END $$;

-- Tenant-scoped readers (digests, exports, the API) read the figures; only the job writes them.
GRANT SELECT ON attendance_monthly, attendance_daily_school, attendance_chronic_absence TO school_app;

-- An enrollment's window (dates, class, student) decides which days its summary counts, so a
-- changed window marks the student dirty too: the pair (student, enrollment_date) is enough to
-- make the next run recompute that student's enrollment summaries. The rollup's own nightly
-- rewrite of the summary columns changes no window and marks nothing.
CREATE FUNCTION enrollments_mark_dirty() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO attendance_rollup_dirty (tenant_id, student_id, attendance_date)
    SELECT DISTINCT n.tenant_id, n.student_id, n.enrollment_date FROM new_rows n
    ON CONFLICT DO NOTHING;
  ELSE
    -- Rows whose window did not change appear once among the old rows and once among the new
    -- and cancel out. Grouping, not a join: transition tables have no statistics or indexes, and
    -- a nested loop over the nightly rewrite of every enrollment would be quadratic.
    INSERT INTO attendance_rollup_dirty (tenant_id, student_id, attendance_date)
    SELECT DISTINCT x.tenant_id, x.student_id, x.enrollment_date
    FROM (
      SELECT id, tenant_id, student_id, class_id, enrollment_date, drop_date, 1 AS side FROM new_rows
      UNION ALL
      SELECT id, tenant_id, student_id, class_id, enrollment_date, drop_date, -1 FROM old_rows
    ) x
    GROUP BY x.id, x.tenant_id, x.student_id, x.class_id, x.enrollment_date, x.drop_date
    HAVING sum(x.side) <> 0
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER enrollments_dirty_insert AFTER INSERT ON enrollments
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION enrollments_mark_dirty();
CREATE TRIGGER enrollments_dirty_update AFTER UPDATE ON enrollments
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION enrollments_mark_dirty();
