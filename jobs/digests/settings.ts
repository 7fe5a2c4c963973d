// A tenant's digest settings (tenants.settings.digest). Every key is optional:
//   frequency  'weekly' (default) | 'daily' | 'off'
//   weekday    0-6, Sunday = 0; the local day weekly digests go out (default 5, Friday)
//   hour       0-23; the local hour digests go out (default 15)
//   nearThresholdPoints  how close (in percentage points of absence) to the chronic threshold
//              counts as "near" and earns a gentle warning (default 2)
import { z } from 'zod';
import { InputError } from '../../core/errors.js';

export const digestSettingsSchema = z.object({
  frequency: z.enum(['weekly', 'daily', 'off']).default('weekly'),
  weekday: z.number().int().min(0).max(6).default(5),
  hour: z.number().int().min(0).max(23).default(15),
  nearThresholdPoints: z.number().min(0).max(50).default(2),
});

export type DigestSettings = z.infer<typeof digestSettingsSchema>;

export function digestSettingsFrom(settings: Record<string, unknown>): DigestSettings {
  const parsed = digestSettingsSchema.safeParse(settings.digest ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = ['settings', 'digest', ...issue.path].join('.');
  throw new InputError(`${issue.message}; fix the tenant's ${field}`, field);
}
