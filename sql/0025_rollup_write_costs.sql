-- Write costs of the rollup tables (issue 4 performance work).
--
-- The nightly run rewrites every current enrollment's summary and every current-year chronic row
-- in one transaction. A row's new version can be a HOT update (no index entries, a fraction of
-- the WAL) only if it fits on the row's own page, and the versions the same transaction leaves
-- behind cannot be pruned until it ends: with 0021's fillfactor 80 only about a fifth of a page's
-- rows fit, so most rewrites went to other pages with four or five index insertions each. Half
-- a page free lets every row of the page be rewritten in place; the previous night's versions are
-- pruned when the page is next touched. Measured on the benchmark: 12,000 enrollment rewrites,
-- 920 ms and 60,000 WAL records before, 250-420 ms and 24,000 records after.
-- Applies to pages written from now on (new rows, rewrites); VACUUM FULL repacks existing ones.
ALTER TABLE enrollments SET (fillfactor = 50);
ALTER TABLE attendance_chronic_absence SET (fillfactor = 50);

-- A full rebuild inserts one monthly row per student and month (60,000 on the default benchmark,
-- 550,000 on the full one), and each foreign key is a trigger call and an index probe per row.
-- The direct key to tenants is implied by the composite key to students (a student belongs to an
-- existing tenant, and deleting a tenant deletes its students, which cascades to these rows), so
-- it only cost time: about 180 ms of 1,340 ms for one tenant's 30,000 monthly rows.
ALTER TABLE attendance_monthly DROP CONSTRAINT attendance_monthly_tenant_id_fkey;
ALTER TABLE attendance_chronic_absence DROP CONSTRAINT attendance_chronic_absence_tenant_id_fkey;
