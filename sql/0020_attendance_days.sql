-- One status per student and school day, under a tenant's attendance policy.
--
-- The rollup, the digests and the exports all need "what was this student's day", and they must
-- agree, so the rule lives here once. The policy comes in as arguments (read from tenant settings
-- by jobs/attendance/policy.ts), which keeps this a plain SQL function PostgreSQL can inline into
-- the caller's query and plan with the attendance primary key.
--
-- A whole-day mark (period 0) is the official record for its day when present; otherwise the
-- period marks make the day:
--   'half-of-periods'    attended when at least half of the recorded periods were attended;
--   'absent-any-period'  attended only when every recorded period was attended.
-- An attended day is 'tardy' when any attended mark was late or tardy, else 'present'. A missed
-- day is 'excused' when every missed mark was excused, else 'absent'. Days without any mark
-- (weekends, holidays) produce no row, so they are never absences.
-- in_membership is false only for excused days of a tenant that does not count excused absences.
--
-- Planned in one level for the common case: most attendance is one whole-day mark per student and
-- day (the primary key allows at most one), and that mark is the day, so it passes straight
-- through with no grouping (a caller's GROUP BY month is then the only aggregate). Only days that
-- have period marks and no whole-day mark go through the two-level period rule. Grouping every
-- mark by day first cost about five times one flat GROUP BY on a year of marks.
CREATE FUNCTION attendance_days(
  p_tenant_id uuid,
  p_from date,
  p_to date,
  p_attended text[],
  p_excused_is_absence boolean,
  p_day_rule text,
  p_student_ids uuid[] DEFAULT NULL
) RETURNS TABLE (student_id uuid, attendance_date date, day_status text, in_membership boolean)
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
  SELECT d.student_id, d.attendance_date, d.day_status,
         (d.day_status <> 'excused' OR p_excused_is_absence) AS in_membership
  FROM (
    -- A whole-day mark is the day.
    SELECT a.student_id, a.attendance_date,
           CASE
             WHEN a.status = ANY (p_attended) THEN
               CASE WHEN a.status IN ('late', 'tardy') THEN 'tardy' ELSE 'present' END
             WHEN a.status = 'excused' THEN 'excused'
             ELSE 'absent'
           END AS day_status
    FROM attendance a
    WHERE a.tenant_id = p_tenant_id
      AND a.attendance_date BETWEEN p_from AND p_to
      AND a.period = 0
      AND (p_student_ids IS NULL OR a.student_id = ANY (p_student_ids))
    UNION ALL
    -- Days with period marks only: the period rule over the day's marks.
    SELECT c.student_id, c.attendance_date,
           CASE
             WHEN (CASE WHEN p_day_rule = 'absent-any-period' THEN c.periods_attended = c.periods
                        ELSE c.periods_attended * 2 >= c.periods END)
               THEN CASE WHEN c.periods_late > 0 THEN 'tardy' ELSE 'present' END
             WHEN c.periods_excused = c.periods - c.periods_attended THEN 'excused'
             ELSE 'absent'
           END
    FROM (
      SELECT a.student_id, a.attendance_date,
             count(*) AS periods,
             count(*) FILTER (WHERE a.status = ANY (p_attended)) AS periods_attended,
             count(*) FILTER (WHERE a.status = ANY (p_attended) AND a.status IN ('late', 'tardy')) AS periods_late,
             count(*) FILTER (WHERE a.status = 'excused' AND NOT a.status = ANY (p_attended)) AS periods_excused
      FROM attendance a
      WHERE a.tenant_id = p_tenant_id
        AND a.attendance_date BETWEEN p_from AND p_to
        AND a.period > 0
        AND (p_student_ids IS NULL OR a.student_id = ANY (p_student_ids))
        AND NOT EXISTS (
          SELECT 1 FROM attendance w
          WHERE w.tenant_id = a.tenant_id AND w.student_id = a.student_id
            AND w.attendance_date = a.attendance_date AND w.period = 0)
      GROUP BY a.student_id, a.attendance_date
    ) c
  ) d
$$;

-- Finds the period marks (usually few or none) without scanning the whole-day marks a second
-- time. Partial, so whole-day marks, the bulk of the table, add nothing to it.
CREATE INDEX attendance_period_marks_idx ON attendance (tenant_id, student_id, attendance_date)
  WHERE period > 0;

GRANT EXECUTE ON FUNCTION attendance_days(uuid, date, date, text[], boolean, text, uuid[]) TO school_app;
