-- The rollup's own writes of the enrollment summary columns no longer pay for the trigger that
-- watches enrollment windows (issue 4 performance work).
--
-- 0021's statement-level UPDATE trigger on enrollments captured every updated row twice (old and
-- new transition tables) and grouped them to find changed windows, so the rollup's rewrite of
-- the summary columns of every enrollment (55,000 per tenant on the full benchmark, 275,000 in
-- all) paid for a window check that can never find anything: measured 0.42 s of a 3.7 s update of
-- 55,000 rows, plus capturing the transition tables. PostgreSQL does not allow transition tables
-- on a trigger with a column list, so the check becomes a row-level trigger limited to the window
-- columns: an UPDATE that does not set any of them (the rollup's) does not fire it at all, and one
-- that sets them without changing them is filtered by the WHEN clause before any function call.
-- A bulk change of windows now inserts its dirty pairs row by row; such changes are rare
-- (schedule changes, drops), and the nightly rewrite of every enrollment is not.
-- Inserts keep 0021's statement-level trigger (no old rows to capture there).
DROP TRIGGER enrollments_dirty_update ON enrollments;

CREATE FUNCTION enrollments_window_dirty() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  -- Both sides, as 0021 did: the old window's days and the new window's days changed.
  INSERT INTO attendance_rollup_dirty (tenant_id, student_id, attendance_date)
  VALUES (OLD.tenant_id, OLD.student_id, OLD.enrollment_date), (NEW.tenant_id, NEW.student_id, NEW.enrollment_date)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER enrollments_dirty_window
  AFTER UPDATE OF tenant_id, student_id, class_id, enrollment_date, drop_date ON enrollments
  FOR EACH ROW
  WHEN ((OLD.tenant_id, OLD.student_id, OLD.class_id, OLD.enrollment_date, OLD.drop_date)
        IS DISTINCT FROM (NEW.tenant_id, NEW.student_id, NEW.class_id, NEW.enrollment_date, NEW.drop_date))
  EXECUTE FUNCTION enrollments_window_dirty();
