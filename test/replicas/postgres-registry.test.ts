// On Postgres, a second gateway that would enforce every budget on its own (no REDIS_URL, or beside
// one without) is refused at start with a message naming the fix; a crashed gateway never blocks
// its restart. Real gateway processes on one real Postgres database.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';
import { GATEWAY_LOCK_ID, lockHolders } from '../../src/db/pg-gateway-registry.js';
import { PG_MIGRATIONS_DIR } from '../../src/db/postgres.js';
import { openStore } from '../../src/db/store.js';
import { startChildGateway, type ChildGateway } from '../support/child-gateway.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { UPSTREAM_KEY } from '../support/harness.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres-server.js';
import { dropPrefix, testPrefix, TEST_REDIS_URL } from '../support/redis-server.js';

const started: ChildGateway[] = [];
let db: TestDatabase | undefined;
let fake: FakeUpstream | undefined;
let prefix: string | undefined;

afterEach(async () => {
  for (const g of started.splice(0)) if (g.process.exitCode === null && g.process.signalCode === null) g.process.kill('SIGKILL');
  await fake?.close();
  if (prefix) await dropPrefix(TEST_REDIS_URL, prefix).catch(() => {});
  await db?.drop();
  db = fake = prefix = undefined;
});

async function setup() {
  db = await createTestDatabase();
  fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY });
  prefix = testPrefix();
  const env = { DATABASE_URL: db.url, UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY };
  const redis = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix };
  const start = async (more: Record<string, string> = {}) => {
    const g = await startChildGateway({ ...env, ...more });
    started.push(g);
    return g;
  };
  /** The one stderr line of a gateway that refused to start. */
  const refused = async (more: Record<string, string> = {}) => {
    const err = (await start(more).then(() => null, (e: Error) => e))!;
    expect(err, 'the gateway started').toBeInstanceOf(Error);
    return err.message;
  };
  return { start, refused, redis };
}

describe.runIf(inject('postgresAvailable') && inject('redisAvailable'))('gateways registered on one Postgres database', { timeout: 90_000 }, () => {
  it('two gateways started together on an empty database migrate it once, and both serve', async () => {
    const { start, redis } = await setup();
    const [a, b] = await Promise.all([start(redis), start(redis)]);
    const journal = JSON.parse(readFileSync(path.join(PG_MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };
    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    const applied = (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')).rows[0]!.n;
    await admin.end();
    expect(applied).toBe(journal.entries.length);
    // A key made after both started is served by each of them.
    const store = await openStore(parseConfig({ DATABASE_URL: db!.url, GEMINI_API_KEY: UPSTREAM_KEY }));
    const { key } = await createKeyFor(store.db, systemClock, { tenant: 'acme', project: 'web' });
    await store.close();
    for (const g of [a, b]) {
      const res = await fetch(`${g.url}/v1beta/models/google-text:generateContent`, {
        method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: '{}',
      });
      expect(res.status, await res.text()).toBe(200);
    }
  });

  it('one gateway without REDIS_URL serves alone: a second is refused with or without Redis, and a SIGKILLed one is restarted at once', async () => {
    const { start, refused, redis } = await setup();
    const alone = await start();
    // A shared gateway's lock on another database (advisory locks are per database) is not the rival.
    const elsewhere = await createTestDatabase();
    const other = new pg.Client({ connectionString: elsewhere.url, application_name: 'gemini-gateway pid 999999 on elsewhere shared' });
    await other.connect();
    await other.query('SELECT pg_advisory_lock_shared($1)', [GATEWAY_LOCK_ID.toString()]);
    for (const more of [{}, redis]) {
      const message = await refused(more);
      expect(message).toContain(`another gateway (pid ${alone.pid} on `);
      expect(message).toContain('without REDIS_URL');
      expect(message).toContain('set REDIS_URL on every gateway');
      expect(message).not.toContain('    at '); // one line, no stack
      expect(message).not.toContain('999999');
    }
    const here = new pg.Client({ connectionString: db!.url });
    await here.connect();
    expect(await lockHolders(here)).toEqual([{ who: `pid ${alone.pid} on ${hostname()}`, shared: false }]);
    await here.end();
    await other.end();
    await elsewhere.drop();
    // Its registration session ended from the server side (a Postgres restart would do that): said once, and it keeps serving.
    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    const ended = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1", [`gemini-gateway pid ${alone.pid} on %`]);
    await admin.end();
    expect(ended.rowCount).toBe(1);
    await alone.waitForLog((l) => String(l.msg).startsWith('gateway registration connection lost'));
    expect((await fetch(`${alone.url}/healthz`)).status).toBe(200);
    // A crash leaves nothing behind: its session, and with it the lock, ends with the process.
    alone.process.kill('SIGKILL');
    await alone.exited;
    const again = await start();
    expect(again.pid).not.toBe(alone.pid);
  });

  it('gateways with REDIS_URL (GATEWAY_WORKERS=2 among them) run side by side; one without is refused beside them, and a clean stop frees the database', async () => {
    const { start, refused, redis } = await setup();
    const one = await start({ ...redis, GATEWAY_WORKERS: '2' });
    await one.waitForLog((l) => l.msg === 'gemini-gateway listening' && l.pid !== one.logs.find((x) => x.msg === 'gemini-gateway listening')!.pid);
    const two = await start(redis);
    const message = await refused();
    expect(message).toMatch(/another gateway \(pid \d+ on [^)]+\) serves from postgres:\/\/.* with shared state: .*set REDIS_URL on every gateway/);
    for (const g of [one, two]) {
      g.process.kill('SIGTERM');
      expect((await g.exited).code).toBe(0);
    }
    await start();
  });
});
