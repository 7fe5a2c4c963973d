-- A changed academic year makes the next attendance rollup of that tenant a full rebuild.
--
-- Chronic-absence rows are kept per academic year, and a year is the tenant's academic_terms row
-- of kind 'year' (else August-July). Marks and enrollment windows reach the rollup through the
-- dirty set, but a moved, added or deleted year term changes which days every chronic row of the
-- tenant covers, so there is no small set of students to recompute: the trigger asks for a full
-- rebuild instead. Term edits are a few a year; semesters, terms and quarters do not affect the
-- stored rollups (term-to-date figures read the terms when they are asked for).
--
-- The request is a timestamp, not a flag: the rollup clears it only if it still holds the value
-- the rollup read, so a term edited while a rebuild runs (after its snapshot) asks again.
ALTER TABLE attendance_rollup_state ADD COLUMN full_rebuild_requested_at timestamptz;

CREATE FUNCTION academic_year_terms_changed() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  -- A tenant with no state yet has never been rolled up: its first run is a full one anyway.
  UPDATE attendance_rollup_state SET full_rebuild_requested_at = clock_timestamp()
  WHERE tenant_id IN (
    SELECT tenant_id FROM (VALUES (CASE WHEN TG_OP <> 'INSERT' THEN OLD.tenant_id END),
                                  (CASE WHEN TG_OP <> 'DELETE' THEN NEW.tenant_id END)) t(tenant_id));
  RETURN NULL;
END $$;

-- Only year terms: semesters, terms and quarters, and renaming a term, change nothing stored.
CREATE TRIGGER academic_year_terms_insert AFTER INSERT ON academic_terms
  FOR EACH ROW WHEN (NEW.kind = 'year') EXECUTE FUNCTION academic_year_terms_changed();
CREATE TRIGGER academic_year_terms_delete AFTER DELETE ON academic_terms
  FOR EACH ROW WHEN (OLD.kind = 'year') EXECUTE FUNCTION academic_year_terms_changed();
CREATE TRIGGER academic_year_terms_update
  AFTER UPDATE OF tenant_id, kind, start_date, end_date ON academic_terms
  FOR EACH ROW
  WHEN ((OLD.kind = 'year' OR NEW.kind = 'year')
        AND (OLD.tenant_id, OLD.kind, OLD.start_date, OLD.end_date)
            IS DISTINCT FROM (NEW.tenant_id, NEW.kind, NEW.start_date, NEW.end_date))
  EXECUTE FUNCTION academic_year_terms_changed();
