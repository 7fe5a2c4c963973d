import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Each file has its own database and queue prefix, so files run in parallel safely.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real services only: a flaky retry would hide exactly the races these tests look for.
    retry: 0,
  },
});
