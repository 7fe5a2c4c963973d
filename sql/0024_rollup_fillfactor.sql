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
