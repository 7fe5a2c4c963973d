-- Tables the engine keeps for itself: export records, job run history, email deliveries.

-- One row per export an admin requested. The file appears in storage only when complete
-- (written to a temporary name, then renamed), and this row records what was written.
CREATE TABLE exports (
  id              uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  template_id     varchar(64) NOT NULL,
  format          varchar(8) NOT NULL CHECK (format IN ('csv', 'xlsx', 'pdf')),
  filters         jsonb NOT NULL DEFAULT '{}',
  status          varchar(12) NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'expired')),
  progress        integer NOT NULL DEFAULT 0 CHECK (progress >= 0),
  requested_by    uuid,
  job_id          varchar(200),
  storage_key     varchar(500),
  file_name       varchar(255),
  file_size       bigint CHECK (file_size >= 0),
  row_count       bigint CHECK (row_count >= 0),
  checksum_sha256 char(64),
  error           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  expires_at      timestamptz,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX exports_tenant_created_idx ON exports (tenant_id, created_at DESC);
CREATE INDEX exports_expires_idx ON exports (expires_at) WHERE expires_at IS NOT NULL;

-- Job run history: one row per attempt, so it survives Redis retention and can be queried with
-- SQL. It is the engine's own table (not a tenant table): tenant_id is informational and has no
-- foreign key, so history outlives a deleted tenant until the cleanup job prunes it.
CREATE TABLE job_runs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id      varchar(200) NOT NULL,
  kind        varchar(64) NOT NULL,
  tenant_id   uuid,
  attempt     integer NOT NULL CHECK (attempt >= 1),
  status      varchar(12) NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  payload     jsonb,
  result      jsonb,
  error       text,
  worker      varchar(200),
  started_at  timestamptz NOT NULL,
  finished_at timestamptz,
  duration_ms integer,
  UNIQUE (job_id, attempt)
);
CREATE INDEX job_runs_kind_started_idx ON job_runs (kind, started_at DESC);
CREATE INDEX job_runs_tenant_started_idx ON job_runs (tenant_id, started_at DESC) WHERE tenant_id IS NOT NULL;
CREATE INDEX job_runs_started_idx ON job_runs (started_at);

-- Email deliveries: the ledger that makes digests exactly-once per guardian and period. A row is
-- claimed before sending and completed after, under this unique key.
CREATE TABLE email_deliveries (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  guardian_id uuid NOT NULL,
  digest_kind varchar(20) NOT NULL CHECK (digest_kind IN ('daily', 'weekly', 'custom')),
  period_start date NOT NULL,
  period_end   date NOT NULL,
  status      varchar(10) NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
  recipient   varchar(320),
  message_id  varchar(255),
  attempts    integer NOT NULL DEFAULT 0,
  reason      text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz,
  CHECK (period_end >= period_start),
  UNIQUE (tenant_id, guardian_id, digest_kind, period_start, period_end),
  FOREIGN KEY (tenant_id, guardian_id) REFERENCES guardians (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX email_deliveries_created_idx ON email_deliveries (created_at);

CREATE TRIGGER email_deliveries_touch BEFORE UPDATE ON email_deliveries FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
