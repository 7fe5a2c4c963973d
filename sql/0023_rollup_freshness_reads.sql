-- Readers of the rollups (termToDateRates in jobs/attendance/figures.ts, used by the digests) must
-- know which monthly rows are stale: months with marks changed since the last run (the dirty set,
-- or claimed by a run still in progress) and every month of a tenant whose rollup never ran or ran
-- under another policy. They read those live instead. Row level security already scopes these
-- tables to the current tenant; only the job writes them.
GRANT SELECT ON attendance_rollup_state, attendance_rollup_dirty, attendance_rollup_claims TO school_app;
