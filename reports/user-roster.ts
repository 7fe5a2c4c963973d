// Every live user account of the school (seed 003's view_user_roster), optionally by role/status.
import { sql } from 'kysely';
import { z } from 'zod';
import { defineTemplate } from './types.js';

export const userRoster = defineTemplate({
  id: 'user-roster',
  title: 'User roster',
  description: 'Every user account of the school with role, status and last login',
  formats: ['csv', 'xlsx', 'pdf'],
  filters: z.strictObject({
    role: z.enum(['admin', 'principal', 'teacher', 'staff', 'parent', 'student']).optional(),
    status: z.enum(['active', 'inactive', 'suspended', 'pending']).optional(),
  }),
  filterHelp: {
    role: 'admin | principal | teacher | staff | parent | student',
    status: 'active | inactive | suspended | pending',
  },
  columns: [
    { key: 'last_name', header: 'Last name', type: 'text', width: 18 },
    { key: 'first_name', header: 'First name', type: 'text', width: 16 },
    { key: 'email', header: 'Email', type: 'text', width: 32 },
    { key: 'role', header: 'Role', type: 'text', width: 10 },
    { key: 'status', header: 'Status', type: 'text', width: 10 },
    { key: 'created_on', header: 'Created', type: 'date', width: 12 },
    { key: 'last_login_on', header: 'Last login', type: 'date', width: 12 },
  ],
  query: (f, env) => sql`
    SELECT u.last_name, u.first_name, u.email, u.role, u.status,
           (u.created_at AT TIME ZONE ${env.tenant.timeZone})::date AS created_on,
           (u.last_login AT TIME ZONE ${env.tenant.timeZone})::date AS last_login_on
    FROM users u
    WHERE u.tenant_id = ${env.tenant.id} AND u.deleted_at IS NULL
      AND (${f.role ?? null}::text IS NULL OR u.role = ${f.role ?? null})
      AND (${f.status ?? null}::text IS NULL OR u.status = ${f.status ?? null})
    ORDER BY u.last_name, u.first_name, u.id`,
});
