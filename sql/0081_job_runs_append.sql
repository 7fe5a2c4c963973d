-- Job run history is written at the rate jobs finish: thousands of rows a second under load (see
-- bench/engine.ts), on the same cores as Redis and the workers. The engine now appends finished
-- runs with COPY (workers/run-history.ts), and this keeps the table as cheap to append to as its
-- queries allow: measured per appended row (bench/engine.ts reports PostgreSQL's CPU per job),
-- each btree index costs about as much as the heap row itself.
--
-- * The run's natural key (kind, job_id, attempt) becomes the primary key. The surrogate id
--   column cost a sequence step and a second unique btree per row and nothing referenced it.
-- * started_at gets a BRIN index instead of a btree: rows arrive in start order (within one flush
--   window), so block ranges summarise it well, and every question asked of history is bounded
--   in time ("what ran last night", retention cleanup): a few kilobytes instead of a btree
--   maintained on every row.
-- * (kind, started_at) and (tenant_id, started_at) go: a kind's or a school's runs are found by
--   the time bound plus a filter, and a kind's runs also by the primary key's leading column.
-- * The partial index on failures stays: it is only written for failed runs.
-- On a large job_runs the primary key is built under an exclusive lock (seconds per few million
-- rows): run history writes fail meanwhile, and the workers keep their rows and retry them.
ALTER TABLE job_runs DROP COLUMN id;
ALTER TABLE job_runs
  DROP CONSTRAINT job_runs_kind_job_id_attempt_key,
  ADD CONSTRAINT job_runs_pkey PRIMARY KEY (kind, job_id, attempt);
DROP INDEX job_runs_started_idx;
DROP INDEX job_runs_kind_started_idx;
DROP INDEX job_runs_tenant_started_idx;
CREATE INDEX job_runs_started_brin ON job_runs USING brin (started_at);
