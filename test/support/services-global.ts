// vitest globalSetup: probes Postgres and Redis once per run, tells every test file through provide(),
// and says in one line what a machine without them (or without a browser) did not run, and how to run it.
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { REQUIRE_POSTGRES, probePostgres, shownUrl } from './postgres-server.js';
import { REQUIRE_REDIS, probeRedis, shownRedisUrl } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAvailable: boolean;
    redisAvailable: boolean;
  }
}

/** The browser the dashboard test drives (test/browser/dashboard.test.ts reads the same variable). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Every project runs the global setup; the line belongs to the run, once.
const PRINTED = 'GGW_TEST_SERVICES_LINE_PRINTED';

export default async function setup(project: TestProject): Promise<void> {
  const [pg, redis] = await Promise.all([probePostgres(), probeRedis()]);
  project.provide('postgresAvailable', pg.ok);
  project.provide('redisAvailable', redis.ok);
  if (!pg.ok && REQUIRE_POSTGRES) throw new Error(`REQUIRE_POSTGRES=1 but no Postgres answers at ${shownUrl()}: ${pg.reason}`);
  if (!redis.ok && REQUIRE_REDIS) throw new Error(`REQUIRE_REDIS=1 but no Redis answers at ${shownRedisUrl()}: ${redis.reason}`);
  const skipped: string[] = [];
  const how: string[] = [];
  if (!pg.ok) {
    skipped.push(`the Postgres matrix (no server at ${shownUrl()}: ${pg.reason})`);
    how.push('start Postgres or set TEST_DATABASE_URL');
  }
  if (!redis.ok) {
    skipped.push(`the replica suite (no Redis at ${shownRedisUrl()}: ${redis.reason})`);
    how.push('start Redis or set TEST_REDIS_URL');
  }
  if (!existsSync(CHROMIUM) && process.env.REQUIRE_BROWSER !== '1') {
    skipped.push(`the dashboard browser test (no browser at ${CHROMIUM})`);
    how.push('apt-get install chromium or set CHROMIUM_PATH');
  }
  if (skipped.length === 0 || process.env[PRINTED]) return;
  process.env[PRINTED] = '1';
  process.stdout.write(`Not run: ${skipped.join('; ')}. To run: ${how.join(', ')}, then npm test (.ci/run starts Postgres and Redis, installs chromium, and requires all three).\n`);
}
