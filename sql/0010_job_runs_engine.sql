-- Job run history as the engine writes it (workers/run-history.ts).
--
-- BullMQ numbers jobs per queue, and there is one queue per job kind, so job id "17" exists in
-- every queue: the natural key of a run is (kind, job_id, attempt), not (job_id, attempt). The
-- engine upserts on it, so a stalled attempt that is replayed updates its row instead of failing.
ALTER TABLE job_runs DROP CONSTRAINT job_runs_job_id_attempt_key;
ALTER TABLE job_runs ADD CONSTRAINT job_runs_kind_job_id_attempt_key UNIQUE (kind, job_id, attempt);

-- Failures are what people look for first ("what failed last night?").
CREATE INDEX job_runs_failed_idx ON job_runs (started_at DESC) WHERE status = 'failed';
-- Looking up every attempt of one job from the board.
CREATE INDEX job_runs_job_id_idx ON job_runs (job_id);
