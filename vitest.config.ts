import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Probe Postgres and Redis once; without one, its suite reports itself not run (one line).
    globalSetup: ['test/support/postgres-global.ts', 'test/support/redis-global.ts'],
  },
});
