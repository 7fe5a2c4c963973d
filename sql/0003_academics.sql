-- Subjects, academic terms, classes, enrollments and grades.
-- Classes follow seed 001 (class_code + academic_year, one teacher); seed 000's name + section is
-- kept as columns. Enrollments carry seed 001's attendance summary columns, which the
-- attendance-rollup job owns and rewrites.

CREATE TABLE subjects (
  id         uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name       varchar(100) NOT NULL,
  code       varchar(20),
  is_core    boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name)
);

-- Seed 002's Academic Term / Year table. Term-to-date figures (digests, report cards) are sums of
-- monthly rollups between a term's dates.
CREATE TABLE academic_terms (
  id            uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name          varchar(100) NOT NULL,
  academic_year varchar(9) NOT NULL CHECK (academic_year ~ '^[0-9]{4}-[0-9]{2}$'),
  kind          varchar(20) NOT NULL DEFAULT 'term' CHECK (kind IN ('year', 'semester', 'term', 'quarter')),
  start_date    date NOT NULL,
  end_date      date NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (end_date >= start_date),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name)
);
CREATE INDEX academic_terms_dates_idx ON academic_terms (tenant_id, start_date, end_date);

CREATE TABLE classes (
  id            uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  class_code    varchar(50) NOT NULL,
  name          varchar(200) NOT NULL,
  section       varchar(10),
  subject_id    uuid,
  grade_level   varchar(20) NOT NULL,
  academic_year varchar(9) NOT NULL CHECK (academic_year ~ '^[0-9]{4}-[0-9]{2}$'),
  -- A homeroom class is where daily (whole-day) attendance is taken.
  is_homeroom   boolean NOT NULL DEFAULT false,
  teacher_id    uuid,
  room          varchar(50),
  capacity      integer NOT NULL DEFAULT 30 CHECK (capacity > 0),
  start_date    date NOT NULL,
  end_date      date,
  status        varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'completed', 'cancelled')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (end_date IS NULL OR end_date >= start_date),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, class_code, academic_year),
  FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id),
  FOREIGN KEY (tenant_id, teacher_id) REFERENCES teachers (tenant_id, id)
);
CREATE INDEX classes_teacher_idx ON classes (tenant_id, teacher_id);

CREATE TABLE enrollments (
  id                     uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id              uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  student_id             uuid NOT NULL,
  class_id               uuid NOT NULL,
  enrollment_date        date NOT NULL,
  drop_date              date,
  status                 varchar(20) NOT NULL DEFAULT 'active'
                           CHECK (status IN ('active', 'dropped', 'completed', 'withdrawn')),
  final_grade            varchar(10),
  -- Attendance summary (seed 001, rate from seed 003), maintained by the attendance-rollup job.
  total_days             integer NOT NULL DEFAULT 0 CHECK (total_days >= 0),
  days_present           integer NOT NULL DEFAULT 0 CHECK (days_present >= 0),
  days_absent            integer NOT NULL DEFAULT 0 CHECK (days_absent >= 0),
  days_tardy             integer NOT NULL DEFAULT 0 CHECK (days_tardy >= 0),
  days_excused           integer NOT NULL DEFAULT 0 CHECK (days_excused >= 0),
  attendance_rate        numeric(5, 2) CHECK (attendance_rate BETWEEN 0 AND 100),
  attendance_computed_at timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  CHECK (drop_date IS NULL OR drop_date >= enrollment_date),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, student_id, class_id),
  FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, class_id) REFERENCES classes (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX enrollments_class_idx ON enrollments (tenant_id, class_id);

-- Seed 001's grades (points per assignment), the most general of the three grade shapes.
CREATE TABLE grades (
  id              uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  enrollment_id   uuid NOT NULL,
  assignment_name varchar(200) NOT NULL,
  assignment_type varchar(20) NOT NULL
                    CHECK (assignment_type IN ('homework', 'quiz', 'test', 'project', 'participation', 'final')),
  points_possible numeric(8, 2) NOT NULL CHECK (points_possible > 0),
  points_earned   numeric(8, 2) CHECK (points_earned >= 0),
  letter_grade    varchar(5),
  assigned_date   date NOT NULL,
  graded_at       timestamptz,
  graded_by       uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, enrollment_id) REFERENCES enrollments (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, graded_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX grades_enrollment_idx ON grades (tenant_id, enrollment_id);

CREATE TRIGGER subjects_touch BEFORE UPDATE ON subjects FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER academic_terms_touch BEFORE UPDATE ON academic_terms FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER classes_touch BEFORE UPDATE ON classes FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER enrollments_touch BEFORE UPDATE ON enrollments FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER grades_touch BEFORE UPDATE ON grades FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
