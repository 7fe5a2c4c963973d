-- Job run history is written at the rate jobs finish (thousands of rows a second under load, see
-- bench/engine.ts), so every index on job_runs is paid for on every job. This one does not earn
-- its keep: BullMQ numbers jobs per queue and there is one queue per kind, so a job id alone
-- names a job in every kind's queue; a lookup of one job's attempts gives the kind too and is
-- served by the (kind, job_id, attempt) unique key. Its random insert positions also made it one
-- of the dearer indexes to maintain. No code queries job_runs by job_id alone.
DROP INDEX IF EXISTS job_runs_job_id_idx;
