import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Probes the Postgres server once; without one the Postgres matrix reports itself not run (one line).
    globalSetup: ['test/support/postgres-global.ts'],
  },
});
