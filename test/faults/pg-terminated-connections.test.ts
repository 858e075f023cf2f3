// A Postgres server ends one of the gateway's connections (`pg_terminate_backend`: an operator, a
// failover, idle_session_timeout) while the gateway is using it. The gateway must answer that request
// as a database outage (503 in the caller's shape), stay up, and serve the next request as usual.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';
import { query } from '../../src/db/dialect.js';
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

  it('under load, with every gateway connection terminated again and again, nothing crashes, nothing answers 500, and each served request has one usage row', async () => {
    const tenant = { 'x-goog-api-key': key, 'content-type': 'application/json' };
    const seen: Array<{ kind: string; status: number; requestId: string | null; body: string }> = [];
    const call = async (kind: string, path: string, init: RequestInit) => {
      try {
        const res = await fetch(`${child.url}${path}`, init);
        seen.push({ kind, status: res.status, requestId: res.headers.get('x-gateway-request-id'), body: await res.text() });
      } catch (err) {
        seen.push({ kind, status: 0, requestId: null, body: String(err) });
      }
    };
    let stop = false;
    let n = 0;
    const data = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const stream = n++ % 4 === 0;
        const path = `/v1beta/models/google-text:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
        await call('data', path, { method: 'POST', headers: tenant, body: '{}' });
      }
    });
    const reads = Array.from({ length: 4 }, async (_, i) => {
      while (!stop) {
        if (i === 0) await call('admin', '/admin/v1/usage?groupBy=day,model', { headers: adminHeaders });
        else if (i === 1) await call('admin', '/admin/v1/tenants', { headers: adminHeaders });
        else if (i === 2) await call('admin', `/admin/v1/tenants`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ slug: `t-${n++}` }) });
        else await call('self', '/gateway/v1/usage', { headers: tenant });
      }
    });
    const killed: number[] = [];
    for (let round = 0; round < 12; round++) {
      await sleep(250);
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'gemini-gateway%' AND pid <> pg_backend_pid()`,
        [db.name],
      );
      for (const r of rows) await admin.query('SELECT pg_terminate_backend($1)', [r.pid]);
      killed.push(rows.length);
    }
    await sleep(1500); // the change feed and the pool come back
    stop = true;
    await Promise.all([...data, ...reads]);

    expect(child.process.exitCode).toBeNull();
    expect(child.process.signalCode).toBeNull();
    expect(killed.some((k) => k > 0)).toBe(true);
    // The key was cached before the first termination: the data plane never needs the database to answer it.
    expect(seen.filter((s) => s.kind === 'data' && s.status !== 200).map((s) => `${s.status} ${s.body.slice(0, 200)}`)).toEqual([]);
    const bad = seen.filter((s) => s.status !== 200 && s.status !== 201 && s.status !== 503);
    expect(bad.map((s) => `${s.kind} ${s.status} ${s.body.slice(0, 200)}`)).toEqual([]);
    for (const s of seen.filter((x) => x.status === 503)) {
      const err = JSON.parse(s.body).error;
      if (s.kind === 'admin') expect(err).toMatchObject({ code: 'unavailable' });
      else expect(err).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
    }

    const served = seen.filter((s) => s.kind === 'data' && s.status === 200).map((s) => s.requestId!);
    expect(served.length).toBeGreaterThan(50);
    const deadline = Date.now() + 20_000;
    let rows: Array<{ request_id: string }> = [];
    for (;;) {
      rows = await query(own.db, 'SELECT request_id FROM usage_events');
      const stored = new Set(rows.map((r) => r.request_id));
      if (served.every((id) => stored.has(id)) || Date.now() > deadline) break;
      await sleep(200);
    }
    const perRequest = new Map<string, number>();
    for (const r of rows) perRequest.set(r.request_id, (perRequest.get(r.request_id) ?? 0) + 1);
    expect(served.filter((id) => perRequest.get(id) !== 1)).toEqual([]);
    expect([...perRequest.values()].filter((c) => c !== 1)).toEqual([]);

    // Afterwards everything works again.
    const gen = await fetch(`${child.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: tenant, body: '{}' });
    expect(gen.status).toBe(200);
    await gen.text();
    const list = await fetch(`${child.url}/admin/v1/tenants`, { headers: adminHeaders });
    expect(list.status).toBe(200);
    await list.text();
    const out = child.output();
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain(key);
    expect(out).not.toMatch(/\n\s+at .*\.[jt]s:\d+/);
    const summary = { requests: seen.length, byStatus: Object.fromEntries([...new Set(seen.map((s) => `${s.kind}:${s.status}`))].map((k) => [k, seen.filter((s) => `${s.kind}:${s.status}` === k).length])), killed };
    console.log(`pg-terminated under load: ${JSON.stringify(summary)}`);
  }, 90_000);
});
