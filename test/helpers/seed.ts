// Small generated schools for tests, on a fixed anchor date so results never depend on the day.
import type { Db } from '../../core/db.js';
import { generateSchoolData, type SeedOptions, type SeedSummary } from '../../seed/generate.js';

export const TEST_TODAY = '2026-03-16';

export function seedSchools(db: Db, options: Partial<SeedOptions> = {}): Promise<SeedSummary> {
  return generateSchoolData(db, {
    seed: 1,
    tenants: 2,
    students: 60,
    days: 40,
    auditRows: 200,
    today: TEST_TODAY,
    ...options,
  });
}
