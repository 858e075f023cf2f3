import { availableParallelism } from 'node:os';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { probePostgres } from './test/support/postgres-server.js';

/**
 * Tests about SQLite itself (its files, PRAGMAs, the migrations layout), the Postgres-only tests and
 * those that open both backends themselves (already run once by the sqlite project, their Postgres
 * part guarded by postgresAvailable) stay out of the Postgres run.
 */
const SQLITE_ONLY = [
  'test/integration/sqlite-migrations-layout.test.ts',
  'test/integration/limits-migration.test.ts',
  'test/integration/postgres-boot.test.ts',
  'test/integration/postgres-changes.test.ts',
  'test/integration/postgres-two-gateways.test.ts',
  'test/integration/ledger-pg-sink.test.ts',
  'test/integration/backends-same-answers.test.ts',
  // Both sinks side by side (test/support/ledger-backends.ts): one run holds them to the same behaviour.
  'test/integration/ledger-refused-rows.test.ts',
  'test/integration/upload-session-prune.test.ts',
];

/**
 * Files that assert on what a whole process has loaded (the OpenTelemetry SDK never required while telemetry is
 * off): they need a process of their own, which the other files (run one after another in shared workers) do not
 * give. Module loading does not depend on the backend, so they run once, on SQLite.
 */
const OWN_PROCESS = ['test/integration/telemetry-off.test.ts'];

export default defineConfig(async () => {
  // The same probe as the global setup, which prints the one "Not run" line (or fails under REQUIRE_POSTGRES).
  const postgres = await probePostgres();
  const projects: TestProjectInlineConfiguration[] = [
    { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], exclude: OWN_PROCESS } },
    { extends: true, test: { name: 'own-process', include: OWN_PROCESS, isolate: true } },
  ];
  // The integration suite a second time, every harness on a fresh Postgres database (test/support/harness.ts).
  if (postgres.ok) {
    projects.push({ extends: true, test: { name: 'postgres', include: ['test/integration/**/*.test.ts'], exclude: [...SQLITE_ONLY, ...OWN_PROCESS], env: { TEST_BACKEND: 'postgres' } } });
  }
  return {
    test: {
      testTimeout: 30_000,
      hookTimeout: 30_000,
      pool: 'forks',
      // Vitest's default is one worker per core minus one: a single worker on 2 cores. Most of the suite's time is spent
      // waiting on gateway processes, databases and timers, so a second worker there halves the wall time.
      maxWorkers: Math.max(2, availableParallelism() - 1),
      // A worker runs its files one after another in one process instead of a fresh one each: re-importing the
      // gateway for each of ~160 files cost more CPU than their tests (suite 464 → 340 s on 2 cores). The code
      // under test keeps no module state (dependencies are passed in), and every harness closes what it opens.
      isolate: false,
      // Probe Postgres and Redis once; what a machine without them (or a browser) skips is said in one line.
      globalSetup: ['test/support/services-global.ts'],
      projects,
    },
  };
});
