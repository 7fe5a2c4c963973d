-- Attendance: one row per student, school day and period, partitioned by month of the date.
--
-- Reconciled from seeds 000 (daily, UNIQUE(student_id, date)), 001 (optional period, reason,
-- tardy status) and 003 (per class session). A whole-day mark has period 0; period-level marks use
-- 1..12. period is NOT NULL so the natural key is enforceable (a NULL would let duplicates in).
-- There is no surrogate id: on a partitioned table a unique key must contain the partition key,
-- so (tenant, student, date, period) is the identity anyway, and it is what every reader joins on.
-- Monthly partitions are created ahead by the partition-rotation job; the default partition
-- catches a date nobody expected so an insert never fails for lack of a partition.
CREATE TABLE attendance (
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  student_id      uuid NOT NULL,
  attendance_date date NOT NULL,
  period          smallint NOT NULL DEFAULT 0 CHECK (period BETWEEN 0 AND 12),
  class_id        uuid,
  -- 'late' (seeds 000, 003) and 'tardy' (seed 001) are both accepted; tenants may treat them alike.
  status          varchar(10) NOT NULL CHECK (status IN ('present', 'absent', 'late', 'tardy', 'excused')),
  reason          varchar(200),
  notes           text,
  marked_by       uuid,
  marked_at       timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, student_id, attendance_date, period),
  FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, class_id) REFERENCES classes (tenant_id, id) ON DELETE SET NULL,
  FOREIGN KEY (tenant_id, marked_by) REFERENCES users (tenant_id, id)
) PARTITION BY RANGE (attendance_date);

-- Daily reports and average daily attendance read one tenant's days.
CREATE INDEX attendance_tenant_date_idx ON attendance (tenant_id, attendance_date);

CREATE TABLE attendance_default PARTITION OF attendance DEFAULT;

CREATE TRIGGER attendance_touch BEFORE UPDATE ON attendance FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
