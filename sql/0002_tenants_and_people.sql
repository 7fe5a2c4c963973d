-- Tenants (schools) and the people in them.
-- Reconciled from seeds 000 (schools), 001 (tenants, users, students, teachers), 002 (parents and
-- the student-parent join table), 003 (tenants.settings, users.name) and 004 (student-parent links).

CREATE TABLE tenants (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug            varchar(100) NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
  name            varchar(255) NOT NULL,
  school_type     varchar(30) NOT NULL DEFAULT 'public'
                    CHECK (school_type IN ('public', 'private', 'charter', 'international', 'academy')),
  school_level    varchar(20) NOT NULL DEFAULT 'k12'
                    CHECK (school_level IN ('elementary', 'middle', 'high', 'k12')),
  email           varchar(255),
  phone           varchar(30),
  address         text,
  website         varchar(255),
  -- Seed 000 defaults to Asia/Kolkata, seed 001 to America/New_York; UTC is the only neutral default.
  time_zone       varchar(64) NOT NULL DEFAULT 'UTC' CHECK (is_valid_time_zone(time_zone)),
  locale          varchar(16) NOT NULL DEFAULT 'en-US' CHECK (locale ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
  currency        char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
  logo_url        varchar(500),
  primary_color   varchar(7) NOT NULL DEFAULT '#1F4E79' CHECK (primary_color ~ '^#[0-9A-Fa-f]{6}$'),
  secondary_color varchar(7) NOT NULL DEFAULT '#F2A900' CHECK (secondary_color ~ '^#[0-9A-Fa-f]{6}$'),
  status          varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'archived')),
  -- Per-tenant policy (attendance rules, audit retention, digest schedule). Each job validates
  -- its own section and documents its defaults; unknown keys are ignored.
  settings        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Seed 000 roles (class_teacher, subject_teacher) fold into 'teacher'; seed 001's super_admin is a
-- platform operator, not a member of a school, so it is not a tenant role.
CREATE TABLE users (
  id            uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email         varchar(255) NOT NULL CHECK (position('@' IN email) > 1),
  first_name    varchar(100) NOT NULL,
  last_name     varchar(100) NOT NULL,
  role          varchar(20) NOT NULL CHECK (role IN ('admin', 'principal', 'teacher', 'staff', 'parent', 'student')),
  status        varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'suspended', 'pending')),
  password_hash varchar(255),
  phone         varchar(30),
  locale        varchar(16),
  last_login    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz,
  UNIQUE (tenant_id, id)
);
-- Seed 003: email unique per tenant among live users, case-insensitively.
CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX users_tenant_role_idx ON users (tenant_id, role);

-- Links from profiles to users block a hard delete of the user: users are soft-deleted
-- (deleted_at, seeds 002 and 003), and a student's record must never lose its account link silently.
CREATE TABLE teachers (
  id                uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id           uuid,
  employee_id       varchar(50) NOT NULL,
  first_name        varchar(100) NOT NULL,
  last_name         varchar(100) NOT NULL,
  email             varchar(255) NOT NULL,
  department        varchar(100),
  hire_date         date NOT NULL,
  employment_status varchar(20) NOT NULL DEFAULT 'active'
                      CHECK (employment_status IN ('active', 'inactive', 'terminated', 'on_leave')),
  subjects_taught   text[] NOT NULL DEFAULT '{}',
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, employee_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

-- Seed 001's students.student_id (the school's own number) is named student_number here so that
-- "student_id" always means a foreign key to this table.
CREATE TABLE students (
  id             uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id        uuid,
  student_number varchar(50) NOT NULL,
  first_name     varchar(100) NOT NULL,
  last_name      varchar(100) NOT NULL,
  preferred_name varchar(100),
  date_of_birth  date,
  gender         varchar(20),
  grade_level    varchar(20) NOT NULL,
  admission_date date NOT NULL,
  status         varchar(20) NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'inactive', 'graduated', 'transferred', 'withdrawn')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  deleted_at     timestamptz,
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, student_number),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

-- Guardians replace seed 001's parent_guardian_1/2 columns and seed 000's father_/mother_ columns:
-- one guardian may have several children at the school (siblings) and one child several guardians.
-- The email is deliberately not format-checked: imported data may hold a bad address, and the
-- digest job reports it per recipient instead of the import losing the whole guardian.
CREATE TABLE guardians (
  id                  uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id             uuid,
  first_name          varchar(100) NOT NULL,
  last_name           varchar(100) NOT NULL,
  email               varchar(320),
  phone               varchar(30),
  locale              varchar(16),
  digest_opt_out      boolean NOT NULL DEFAULT false,
  digest_opted_out_at timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

CREATE TABLE student_guardians (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  student_id   uuid NOT NULL,
  guardian_id  uuid NOT NULL,
  relationship varchar(20) NOT NULL DEFAULT 'guardian'
                 CHECK (relationship IN ('mother', 'father', 'guardian', 'grandparent', 'other')),
  is_primary   boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, student_id, guardian_id),
  FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, guardian_id) REFERENCES guardians (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX student_guardians_guardian_idx ON student_guardians (tenant_id, guardian_id);

CREATE TRIGGER tenants_touch BEFORE UPDATE ON tenants FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER teachers_touch BEFORE UPDATE ON teachers FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER students_touch BEFORE UPDATE ON students FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER guardians_touch BEFORE UPDATE ON guardians FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
