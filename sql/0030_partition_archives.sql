-- Archives written by partition retention before a month is dropped (issue 5): one gzip CSV per
-- partition in the export storage, with its checksum, so a dropped month can be proven complete
-- and restored. The file holds every tenant's rows of that month, so this is the engine's own
-- table (like job_runs), not a tenant table: no tenant_id, no RLS, never granted to school_app.
CREATE TABLE partition_archives (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  table_name      varchar(63) NOT NULL,
  partition_name  varchar(63) NOT NULL UNIQUE,
  range_from      text NOT NULL,
  range_to        text NOT NULL,
  storage_key     varchar(500) NOT NULL,
  row_count       bigint NOT NULL CHECK (row_count >= 0),
  byte_size       bigint NOT NULL CHECK (byte_size >= 0),
  checksum_sha256 char(64) NOT NULL,
  archived_at     timestamptz NOT NULL
);
