// vitest globalSetup: probes Redis once per run and tells every test file through provide().
import type { TestProject } from 'vitest/node';
import { REQUIRE_REDIS, probeRedis, shownRedisUrl } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisAvailable: boolean;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const probe = await probeRedis();
  project.provide('redisAvailable', probe.ok);
  if (probe.ok) return;
  if (REQUIRE_REDIS) throw new Error(`REQUIRE_REDIS=1 but no Redis answers at ${shownRedisUrl()}: ${probe.reason}`);
  // The one line `npm test` prints about it.
  process.stdout.write(`Replica suite did not run: no Redis at ${shownRedisUrl()} (${probe.reason}). Start one or set TEST_REDIS_URL, then npm test; .ci/run starts one and requires it.\n`);
}
