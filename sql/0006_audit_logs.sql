-- Audit trail (seeds 000, 001, 003), partitioned by month of created_at.
--
-- The id is a bigint from a sequence: compact, ordered (batched deletes walk it) and usable on a
-- partitioned table in every supported PostgreSQL (identity columns need 17). The primary key
-- includes created_at because a partitioned table's unique keys must contain the partition key.
-- user_id has no foreign key on purpose: an audit entry must outlive the user it names, and
-- rewriting audit rows on a user delete (SET NULL) would defeat their purpose.
-- actor says who acted: 'user' for people, 'engine:<job kind>' for this engine's own changes.
CREATE SEQUENCE audit_logs_id_seq AS bigint;

CREATE TABLE audit_logs (
  id             bigint NOT NULL DEFAULT nextval('audit_logs_id_seq'),
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  created_at     timestamptz NOT NULL DEFAULT now(),
  actor          varchar(100) NOT NULL DEFAULT 'user',
  user_id        uuid,
  user_email     varchar(255),
  user_role      varchar(20),
  action         varchar(100) NOT NULL,
  resource_type  varchar(100) NOT NULL,
  resource_id    uuid,
  old_values     jsonb,
  new_values     jsonb,
  reason         text,
  ip_address     inet,
  user_agent     text,
  request_method varchar(10),
  request_url    text,
  success        boolean NOT NULL DEFAULT true,
  error_message  text,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

ALTER SEQUENCE audit_logs_id_seq OWNED BY audit_logs.id;

-- Retention cleanup and per-tenant audit views read one tenant's time range.
CREATE INDEX audit_logs_tenant_created_idx ON audit_logs (tenant_id, created_at);
CREATE INDEX audit_logs_resource_idx ON audit_logs (tenant_id, resource_type, resource_id);

CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;
