// A Postgres server ends one of the gateway's connections (`pg_terminate_backend`: an operator, a
// failover, idle_session_timeout) while the gateway is using it. The gateway must answer that request
// as a database outage (503 in the caller's shape), stay up, and serve the next request as usual.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';
import { openStore, type Store } from '../../src/db/store.js';
import { startChildGateway, type ChildGateway } from '../support/child-gateway.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { UPSTREAM_KEY } from '../support/harness.js';
import { createTestDatabase, postgresAvailable, TEST_DATABASE_URL, type TestDatabase } from '../support/postgres.js';

const ADMIN_TOKEN = 'admin-token-terminated-8c1d4e';
const PASSWORD = 'pg-terminated-pw-51a7';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(postgresAvailable)('Postgres connections terminated by the server', () => {
  let db: TestDatabase;
  let fake: FakeUpstream;
  let own: Store;
  let key: string;
  let child: ChildGateway;
  /** The test's own connection to the test server, never to the gateway's pool. */
  let admin: pg.Client;
  const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    db = await createTestDatabase();
    own = await openStore(parseConfig({ DATABASE_URL: db.url, GEMINI_API_KEY: UPSTREAM_KEY }));
    ({ key } = await createKeyFor(own.db, systemClock, { tenant: 'acme', project: 'web' }));
    fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY, forbiddenSecrets: () => [key, PASSWORD, ADMIN_TOKEN] });
    const url = new URL(db.url);
    url.password = PASSWORD; // trust auth: carried, never checked
    child = await startChildGateway({ DATABASE_URL: url.toString(), UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY, ADMIN_TOKEN });
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    admin.on('error', () => {});
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    await admin?.end().catch(() => {});
    if (child && child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await fake?.close();
    await own?.close();
    await db?.drop();
  });

  /** Pids of the gateway's pooled connections in this test's database that wait on a lock. */
  async function waitingOnLock(): Promise<number[]> {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'gemini-gateway' AND wait_event_type = 'Lock'`,
      [db.name],
    );
    return rows.map((r) => r.pid);
  }

  it('an admin write whose transaction loses its connection answers 503 in the admin shape, and the gateway stays up', async () => {
    // Park the gateway's transaction on a lock the test holds, so the termination lands mid-transaction.
    const locker = new pg.Client({ connectionString: db.url });
    locker.on('error', () => {});
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE');
    const pending = fetch(`${child.url}/admin/v1/tenants`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ slug: 'globex' }) });
    let pids: number[] = [];
    for (let i = 0; i < 200 && pids.length === 0; i++) {
      pids = await waitingOnLock();
      if (pids.length === 0) await sleep(25);
    }
    expect(pids).toHaveLength(1);
    await admin.query('SELECT pg_terminate_backend($1)', [pids[0]]);
    const res = await pending;
    await locker.query('ROLLBACK');
    await locker.end();

    const body = await res.text();
    expect(res.status).toBe(503);
    expect(JSON.parse(body).error).toMatchObject({ code: 'unavailable' });
    expect(res.headers.get('retry-after')).toBe('1');

    // Still the same process, serving admin writes and generation.
    await sleep(200);
    expect(child.process.exitCode).toBeNull();
    expect(child.process.signalCode).toBeNull();
    const again = await fetch(`${child.url}/admin/v1/tenants`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ slug: 'globex' }) });
    expect(again.status).toBe(201);
    await again.text();
    const gen = await fetch(`${child.url}/v1beta/models/google-text:generateContent`, {
      method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: '{}',
    });
    expect(gen.status).toBe(200);
    await gen.text();
    expect(child.output()).not.toContain(PASSWORD);
  }, 30_000);
});
