-- Materialized views for the dashboards (issue 4), refreshed by the mv-refresh job with
-- REFRESH MATERIALIZED VIEW CONCURRENTLY; each has the unique index that requires, so readers are
-- never blocked by a refresh.
--
-- Materialized views have no row-level security in PostgreSQL, so they are NOT granted to
-- school_app. Tenants read them through the tenant_* views at the end of this file: ordinary
-- (owner-rights) views with security_barrier that filter tenant_id = app_current_tenant(), so a
-- tenant sees its own rows and nothing when no tenant is set. (security_invoker would make the
-- reader need a grant on the materialized view itself, which would expose every tenant's rows.)

-- Seed 000's student dashboard, over the rollups: the latest academic year per student.
CREATE MATERIALIZED VIEW mv_student_attendance_summary AS
SELECT s.tenant_id, s.id AS student_id, s.student_number, s.first_name, s.last_name, s.grade_level,
       y.year_start, y.year_end,
       coalesce(m.days_in_membership, 0) AS days_in_membership,
       coalesce(m.days_attended, 0) AS days_attended,
       coalesce(m.days_present, 0) AS days_present,
       coalesce(m.days_tardy, 0) AS days_tardy,
       coalesce(m.days_absent, 0) AS days_absent,
       coalesce(m.days_excused, 0) AS days_excused,
       round(m.days_attended * 100.0 / NULLIF(m.days_in_membership, 0), 2) AS attendance_rate,
       coalesce(y.is_chronic, false) AS is_chronic,
       y.first_flagged_on
FROM students s
LEFT JOIN LATERAL (
  SELECT c.year_start, c.year_end, c.is_chronic, c.first_flagged_on
  FROM attendance_chronic_absence c
  WHERE c.tenant_id = s.tenant_id AND c.student_id = s.id
  ORDER BY c.year_start DESC LIMIT 1
) y ON true
LEFT JOIN LATERAL (
  SELECT sum(r.days_in_membership) AS days_in_membership, sum(r.days_attended) AS days_attended,
         sum(r.days_present) AS days_present, sum(r.days_tardy) AS days_tardy,
         sum(r.days_absent) AS days_absent, sum(r.days_excused) AS days_excused
  FROM attendance_monthly r
  WHERE r.tenant_id = s.tenant_id AND r.student_id = s.id
    AND r.month BETWEEN date_trunc('month', y.year_start) AND y.year_end
) m ON true
WHERE s.deleted_at IS NULL;
CREATE UNIQUE INDEX mv_student_attendance_summary_key ON mv_student_attendance_summary (tenant_id, student_id);

-- Seed 000's teacher workload (students taught instead of periods: there is no timetable).
CREATE MATERIALIZED VIEW mv_teacher_workload AS
SELECT t.tenant_id, t.id AS teacher_id, t.first_name, t.last_name,
       count(DISTINCT c.id) AS classes_count,
       count(DISTINCT c.subject_id) AS subjects_count,
       count(e.id) AS students_count
FROM teachers t
LEFT JOIN classes c ON c.tenant_id = t.tenant_id AND c.teacher_id = t.id AND c.status = 'active'
LEFT JOIN enrollments e ON e.tenant_id = c.tenant_id AND e.class_id = c.id AND e.status = 'active'
WHERE t.employment_status = 'active'
GROUP BY t.tenant_id, t.id, t.first_name, t.last_name;
CREATE UNIQUE INDEX mv_teacher_workload_key ON mv_teacher_workload (tenant_id, teacher_id);

-- Seed 003's class enrollment view, summarised per class with the rollup's enrollment figures.
CREATE MATERIALIZED VIEW mv_class_enrollment_summary AS
SELECT c.tenant_id, c.id AS class_id, c.class_code, c.name AS class_name, c.grade_level, c.academic_year,
       c.teacher_id, c.status,
       count(e.id) FILTER (WHERE e.status = 'active') AS active_enrollments,
       count(e.id) AS enrollments,
       coalesce(sum(e.total_days), 0) AS student_days_in_membership,
       coalesce(sum(e.days_present), 0) AS student_days_attended,
       round(sum(e.days_present) * 100.0 / NULLIF(sum(e.total_days), 0), 2) AS attendance_rate,
       round(avg(e.attendance_rate), 2) AS mean_student_rate
FROM classes c
LEFT JOIN enrollments e ON e.tenant_id = c.tenant_id AND e.class_id = c.id
GROUP BY c.tenant_id, c.id;
CREATE UNIQUE INDEX mv_class_enrollment_summary_key ON mv_class_enrollment_summary (tenant_id, class_id);

-- Per-school ADA trend: the daily figure and its average over the last five school days.
CREATE MATERIALIZED VIEW mv_school_daily_attendance AS
SELECT d.tenant_id, d.attendance_date, d.students_marked, d.days_in_membership, d.days_attended, d.ada,
       round(sum(d.days_attended) OVER w * 100.0 / NULLIF(sum(d.days_in_membership) OVER w, 0), 2) AS ada_5_day
FROM attendance_daily_school d
WINDOW w AS (PARTITION BY d.tenant_id ORDER BY d.attendance_date ROWS BETWEEN 4 PRECEDING AND CURRENT ROW);
CREATE UNIQUE INDEX mv_school_daily_attendance_key ON mv_school_daily_attendance (tenant_id, attendance_date);

-- The aging bucket of an invoice on a given day; shared by this view and the invoice-aging export
-- so the dashboard and the spreadsheet never disagree.
CREATE FUNCTION invoice_aging_bucket(p_due_date date, p_as_of date) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
  SELECT CASE
           WHEN p_as_of <= p_due_date THEN 'current'
           WHEN p_as_of - p_due_date <= 30 THEN '1-30'
           WHEN p_as_of - p_due_date <= 60 THEN '31-60'
           WHEN p_as_of - p_due_date <= 90 THEN '61-90'
           ELSE 'over 90'
         END
$$;
GRANT EXECUTE ON FUNCTION invoice_aging_bucket(date, date) TO school_app;

-- Outstanding balance per aging bucket, counted in days past due on each school's own calendar
-- day at refresh time (not the server's: a Kolkata invoice is overdue hours before a New York one).
CREATE MATERIALIZED VIEW mv_invoice_aging AS
SELECT i.tenant_id, i.currency,
       invoice_aging_bucket(i.due_date, (now() AT TIME ZONE t.time_zone)::date) AS bucket,
       count(*) AS invoices, sum(i.balance_due) AS balance_due
FROM invoices i
JOIN tenants t ON t.id = i.tenant_id
WHERE i.status NOT IN ('draft', 'cancelled', 'paid') AND i.balance_due > 0
GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX mv_invoice_aging_key ON mv_invoice_aging (tenant_id, currency, bucket);

-- What the last refresh of each view did; mv-refresh reads refreshed_at to skip views whose
-- sources did not change. The engine's own table (cross-tenant), not granted to school_app.
CREATE TABLE mv_refresh_state (
  view_name    text PRIMARY KEY,
  refreshed_at timestamptz NOT NULL,
  duration_ms  integer NOT NULL,
  row_count    bigint NOT NULL
);

-- The tenant's window onto each view.
DO $$
DECLARE
  v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['student_attendance_summary', 'teacher_workload', 'class_enrollment_summary',
                           'school_daily_attendance', 'invoice_aging'] LOOP
    EXECUTE format('CREATE VIEW %I WITH (security_barrier = true) AS '
                   'SELECT * FROM %I WHERE tenant_id = app_current_tenant()', 'tenant_' || v, 'mv_' || v);
    EXECUTE format('GRANT SELECT ON %I TO school_app', 'tenant_' || v);
  END LOOP;
END $$;
