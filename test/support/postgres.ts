// Per test file: a fresh database on the test server, dropped afterwards.
import { inject } from 'vitest';

export { TEST_DATABASE_URL, createTestDatabase, type TestDatabase } from './postgres-server.js';

/** Whether the Postgres matrix runs: use as `describe.runIf(postgresAvailable)(…)`. */
export const postgresAvailable = inject('postgresAvailable');
