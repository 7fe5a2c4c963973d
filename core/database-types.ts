// Kysely table types for the unified schema (sql/). Conventions from core/db.ts's type parsers:
// numeric (money, rates) stays a string so no value passes through floating point; date is a
// 'YYYY-MM-DD' string (a calendar day has no time zone); timestamptz is a Date; bigint is a number.
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Numeric = ColumnType<string, string | number, string | number>;
type Json = JSONColumnType<Record<string, unknown>, string, string>;

export type AttendanceStatus = 'present' | 'absent' | 'late' | 'tardy' | 'excused';
export const ATTENDANCE_STATUSES: readonly AttendanceStatus[] = [
  'present',
  'absent',
  'late',
  'tardy',
  'excused',
];

export type InvoiceStatus =
  | 'draft'
  | 'pending'
  | 'sent'
  | 'partially_paid'
  | 'paid'
  | 'overpaid'
  | 'overdue'
  | 'cancelled';

export interface TenantsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  school_type: Generated<string>;
  school_level: Generated<string>;
  email: string | null;
  phone: string | null;
  address: string | null;
  website: string | null;
  time_zone: Generated<string>;
  locale: Generated<string>;
  currency: Generated<string>;
  logo_url: string | null;
  primary_color: Generated<string>;
  secondary_color: Generated<string>;
  status: Generated<'active' | 'suspended' | 'archived'>;
  settings: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface UsersTable {
  id: Generated<string>;
  tenant_id: string;
  email: string;
  first_name: string;
  last_name: string;
  role: 'admin' | 'principal' | 'teacher' | 'staff' | 'parent' | 'student';
  status: Generated<'active' | 'inactive' | 'suspended' | 'pending'>;
  password_hash: string | null;
  phone: string | null;
  locale: string | null;
  last_login: Date | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  deleted_at: Date | null;
}

export interface TeachersTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string | null;
  employee_id: string;
  first_name: string;
  last_name: string;
  email: string;
  department: string | null;
  hire_date: string;
  employment_status: Generated<string>;
  subjects_taught: Generated<string[]>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface StudentsTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string | null;
  student_number: string;
  first_name: string;
  last_name: string;
  preferred_name: string | null;
  date_of_birth: string | null;
  gender: string | null;
  grade_level: string;
  admission_date: string;
  status: Generated<'active' | 'inactive' | 'graduated' | 'transferred' | 'withdrawn'>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  deleted_at: Date | null;
}

export interface GuardiansTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string | null;
  first_name: string;
  last_name: string;
  email: string | null;
  phone: string | null;
  locale: string | null;
  digest_opt_out: Generated<boolean>;
  digest_opted_out_at: Date | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface StudentGuardiansTable {
  tenant_id: string;
  student_id: string;
  guardian_id: string;
  relationship: Generated<'mother' | 'father' | 'guardian' | 'grandparent' | 'other'>;
  is_primary: Generated<boolean>;
  created_at: CreatedAt;
}

export interface SubjectsTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  code: string | null;
  is_core: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface AcademicTermsTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  academic_year: string;
  kind: Generated<'year' | 'semester' | 'term' | 'quarter'>;
  start_date: string;
  end_date: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ClassesTable {
  id: Generated<string>;
  tenant_id: string;
  class_code: string;
  name: string;
  section: string | null;
  subject_id: string | null;
  grade_level: string;
  academic_year: string;
  is_homeroom: Generated<boolean>;
  teacher_id: string | null;
  room: string | null;
  capacity: Generated<number>;
  start_date: string;
  end_date: string | null;
  status: Generated<'active' | 'inactive' | 'completed' | 'cancelled'>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface EnrollmentsTable {
  id: Generated<string>;
  tenant_id: string;
  student_id: string;
  class_id: string;
  enrollment_date: string;
  drop_date: string | null;
  status: Generated<'active' | 'dropped' | 'completed' | 'withdrawn'>;
  final_grade: string | null;
  total_days: Generated<number>;
  days_present: Generated<number>;
  days_absent: Generated<number>;
  days_tardy: Generated<number>;
  days_excused: Generated<number>;
  attendance_rate: Numeric | null;
  attendance_computed_at: Date | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface GradesTable {
  id: Generated<string>;
  tenant_id: string;
  enrollment_id: string;
  assignment_name: string;
  assignment_type: 'homework' | 'quiz' | 'test' | 'project' | 'participation' | 'final';
  points_possible: Numeric;
  points_earned: Numeric | null;
  letter_grade: string | null;
  assigned_date: string;
  graded_at: Date | null;
  graded_by: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface AttendanceTable {
  tenant_id: string;
  student_id: string;
  attendance_date: string;
  period: Generated<number>;
  class_id: string | null;
  status: AttendanceStatus;
  reason: string | null;
  notes: string | null;
  marked_by: string | null;
  marked_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface InvoicesTable {
  id: Generated<string>;
  tenant_id: string;
  invoice_number: string;
  student_id: string;
  guardian_id: string | null;
  description: string | null;
  currency: string;
  issue_date: string;
  due_date: string;
  total_amount: Numeric;
  amount_paid: ColumnType<string, string | number | undefined, string | number>;
  balance_due: ColumnType<string, string | number | undefined, string | number>;
  status: Generated<InvoiceStatus>;
  status_changed_at: Date | null;
  /** Sum and count of the invoice's items, kept by the invoice_items triggers (sql/0075). */
  items_total: ColumnType<string, never, never>;
  item_count: ColumnType<number, never, never>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface InvoiceItemsTable {
  id: Generated<string>;
  tenant_id: string;
  invoice_id: string;
  description: string;
  quantity: ColumnType<string, string | number | undefined, string | number>;
  unit_price: Numeric;
  line_total: ColumnType<string, never, never>;
  created_at: CreatedAt;
}

export interface PaymentsTable {
  id: Generated<string>;
  tenant_id: string;
  invoice_id: string;
  kind: Generated<'payment' | 'refund'>;
  status: Generated<'pending' | 'settled' | 'failed' | 'voided'>;
  amount: Numeric;
  currency: string;
  method: Generated<'cash' | 'card' | 'bank_transfer' | 'cheque' | 'online' | 'other'>;
  transaction_id: string | null;
  paid_at: Timestamp;
  received_by: string | null;
  notes: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface AuditLogsTable {
  id: Generated<number>;
  tenant_id: string;
  created_at: Generated<Date>;
  actor: Generated<string>;
  user_id: string | null;
  user_email: string | null;
  user_role: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  old_values: Json | null;
  new_values: Json | null;
  reason: string | null;
  ip_address: string | null;
  user_agent: string | null;
  request_method: string | null;
  request_url: string | null;
  success: Generated<boolean>;
  error_message: string | null;
}

export type ExportStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'expired';

export interface ExportsTable {
  id: Generated<string>;
  tenant_id: string;
  template_id: string;
  format: 'csv' | 'xlsx' | 'pdf';
  filters: ColumnType<Record<string, unknown>, string | undefined, string>;
  status: Generated<ExportStatus>;
  progress: Generated<number>;
  requested_by: string | null;
  job_id: string | null;
  storage_key: string | null;
  file_name: string | null;
  file_size: number | null;
  row_count: number | null;
  checksum_sha256: string | null;
  error: string | null;
  created_at: CreatedAt;
  started_at: Date | null;
  finished_at: Date | null;
  expires_at: Date | null;
}

export interface JobRunsTable {
  job_id: string;
  kind: string;
  tenant_id: string | null;
  attempt: number;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  payload: ColumnType<unknown, string | null, string | null>;
  result: ColumnType<unknown, string | null, string | null>;
  error: string | null;
  worker: string | null;
  started_at: Timestamp;
  finished_at: Date | null;
  duration_ms: number | null;
}

export interface EmailDeliveriesTable {
  id: Generated<number>;
  tenant_id: string;
  guardian_id: string;
  digest_kind: 'daily' | 'weekly' | 'custom';
  period_start: string;
  period_end: string;
  status: Generated<'pending' | 'sending' | 'sent' | 'failed' | 'skipped'>;
  recipient: string | null;
  message_id: string | null;
  attempts: Generated<number>;
  reason: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  sent_at: Date | null;
}

export interface Database {
  tenants: TenantsTable;
  users: UsersTable;
  teachers: TeachersTable;
  students: StudentsTable;
  guardians: GuardiansTable;
  student_guardians: StudentGuardiansTable;
  subjects: SubjectsTable;
  academic_terms: AcademicTermsTable;
  classes: ClassesTable;
  enrollments: EnrollmentsTable;
  grades: GradesTable;
  attendance: AttendanceTable;
  invoices: InvoicesTable;
  invoice_items: InvoiceItemsTable;
  payments: PaymentsTable;
  audit_logs: AuditLogsTable;
  exports: ExportsTable;
  job_runs: JobRunsTable;
  email_deliveries: EmailDeliveriesTable;
}
