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
    SELECT m.student_id, m.attendance_date,
           CASE
             WHEN m.attended AND m.late THEN 'tardy'
             WHEN m.attended THEN 'present'
             WHEN m.all_missed_excused THEN 'excused'
             ELSE 'absent'
           END AS day_status
    FROM (
      SELECT c.student_id, c.attendance_date,
             CASE
               WHEN c.day_marks > 0 THEN c.day_attended > 0
               WHEN p_day_rule = 'absent-any-period' THEN c.periods_attended = c.periods
               ELSE c.periods_attended * 2 >= c.periods
             END AS attended,
             CASE WHEN c.day_marks > 0 THEN c.day_late > 0 ELSE c.periods_late > 0 END AS late,
             CASE
               WHEN c.day_marks > 0 THEN c.day_excused > 0
               ELSE c.periods_excused = c.periods - c.periods_attended
             END AS all_missed_excused
      FROM (
        SELECT a.student_id, a.attendance_date,
               count(*) FILTER (WHERE a.period = 0) AS day_marks,
               count(*) FILTER (WHERE a.period = 0 AND a.status = ANY (p_attended)) AS day_attended,
               count(*) FILTER (WHERE a.period = 0 AND a.status = ANY (p_attended)
                                  AND a.status IN ('late', 'tardy')) AS day_late,
               count(*) FILTER (WHERE a.period = 0 AND a.status = 'excused'
                                  AND NOT a.status = ANY (p_attended)) AS day_excused,
               count(*) FILTER (WHERE a.period > 0) AS periods,
               count(*) FILTER (WHERE a.period > 0 AND a.status = ANY (p_attended)) AS periods_attended,
               count(*) FILTER (WHERE a.period > 0 AND a.status = ANY (p_attended)
                                  AND a.status IN ('late', 'tardy')) AS periods_late,
               count(*) FILTER (WHERE a.period > 0 AND a.status = 'excused'
                                  AND NOT a.status = ANY (p_attended)) AS periods_excused
        FROM attendance a
        WHERE a.tenant_id = p_tenant_id
          AND a.attendance_date BETWEEN p_from AND p_to
          AND (p_student_ids IS NULL OR a.student_id = ANY (p_student_ids))
        GROUP BY a.student_id, a.attendance_date
      ) c
    ) m
  ) d
$$;

GRANT EXECUTE ON FUNCTION attendance_days(uuid, date, date, text[], boolean, text, uuid[]) TO school_app;
