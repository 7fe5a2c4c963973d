// The rollup benchmarks' baseline: one bare aggregate over the attendance rows, the status counts
// per tenant, student and month, with nothing written.
import { sql } from 'kysely';

export const bareRollupAggregate = sql`
  SELECT count(*) FROM (
    SELECT tenant_id, student_id, date_trunc('month', attendance_date) AS month,
           count(*) FILTER (WHERE status = 'present') AS present,
           count(*) FILTER (WHERE status IN ('late', 'tardy')) AS late,
           count(*) FILTER (WHERE status = 'absent') AS absent,
           count(*) FILTER (WHERE status = 'excused') AS excused
    FROM attendance GROUP BY 1, 2, 3) x`;
