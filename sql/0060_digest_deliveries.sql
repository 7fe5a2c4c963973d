-- Digest delivery ledger additions (issue 8). email_deliveries (0007) already has the unique key
-- (tenant, guardian, digest kind, period); these columns let the send job claim a row before the
-- SMTP conversation and tell a crashed attempt from one that is still running.
--   reason_code  a stable code for "skipped/failed by reason" counts (opted-out, no-email,
--                invalid-address, no-school-days, smtp-permanent, smtp-temporary); reason keeps
--                the human sentence.
--   claimed_at   when the current 'sending' claim was taken (a lease: an older claim is stale).
--   claimed_by   the BullMQ job id that took it; a later attempt of the same job may take it over,
--                because BullMQ only retries a job once its previous attempt failed or stalled.
ALTER TABLE email_deliveries
  ADD COLUMN reason_code varchar(40),
  ADD COLUMN claimed_at timestamptz,
  ADD COLUMN claimed_by varchar(200);

-- Run summaries count one tenant's period by status and reason.
CREATE INDEX email_deliveries_period_idx
  ON email_deliveries (tenant_id, digest_kind, period_start, period_end, status);
