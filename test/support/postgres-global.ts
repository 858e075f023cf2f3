// vitest globalSetup: probes the Postgres server once per run and tells every test file through provide().
import type { TestProject } from 'vitest/node';
import { REQUIRE_POSTGRES, probePostgres, shownUrl } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAvailable: boolean;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const probe = await probePostgres();
  project.provide('postgresAvailable', probe.ok);
  if (probe.ok) return;
  if (REQUIRE_POSTGRES) throw new Error(`REQUIRE_POSTGRES=1 but no Postgres answers at ${shownUrl()}: ${probe.reason}`);
  // The one line `npm test` prints about it.
  process.stdout.write(
    `Postgres matrix did not run: no server at ${shownUrl()} (${probe.reason}). Start one or set TEST_DATABASE_URL, then npm test; .ci/run starts one and requires it.\n`,
  );
}
