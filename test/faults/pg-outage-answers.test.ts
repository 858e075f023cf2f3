// While Postgres is unreachable, whatever needs it (an unseen resource's owner, usage queries, admin
// reads, an ephemeral token) answers 503 with Retry-After in its audience's shape, as an unseen key
// does: a database outage is a reason to retry, not a 500 that reads as a bug in the gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyFor } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { openStore, type Store } from '../../src/db/store.js';
import { parseConfig } from '../../src/config.js';
import { startChildGateway, type ChildGateway } from '../support/child-gateway.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { UPSTREAM_KEY } from '../support/harness.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const ADMIN_TOKEN = 'admin-token-outage-4f0e2b';
const PASSWORD = 'pg-outage-answers-pw-93d1';

describe.runIf(postgresAvailable)('answers while Postgres is unreachable', () => {
  let db: TestDatabase;
  let fake: FakeUpstream;
  let own: Store;
  let key: string;
  let proxy: TcpProxy;
  let child: ChildGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    own = await openStore(parseConfig({ DATABASE_URL: db.url, GEMINI_API_KEY: UPSTREAM_KEY }));
    ({ key } = await createKeyFor(own.db, systemClock, { tenant: 'acme', project: 'web' }));
    fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY, forbiddenSecrets: () => [key, PASSWORD, ADMIN_TOKEN] });
    const target = new URL(db.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const url = new URL(proxy.via(db.url));
    url.password = PASSWORD; // trust auth: carried, never checked
    child = await startChildGateway({
      DATABASE_URL: url.toString(), UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY, ADMIN_TOKEN, PG_CONNECT_TIMEOUT_MS: '1000',
    });
  }, 60_000);
  afterAll(async () => {
    if (child && child.process.exitCode === null) child.process.kill('SIGKILL');
    await proxy?.close();
    await fake?.close();
    await own?.close();
    await db?.drop();
  });

  it('gives 503 UNAVAILABLE with Retry-After, in Google\'s shape to tenant callers and the admin shape to admin callers', async () => {
    const tenant = { 'x-goog-api-key': key, 'content-type': 'application/json' };
    const warm = await fetch(`${child.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: tenant, body: '{}' });
    expect(warm.status).toBe(200);
    await warm.text();
    await proxy.cut();

    // The cached key keeps serving generation: the design's "an outage loses nothing".
    const gen = await fetch(`${child.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: tenant, body: '{}' });
    expect(gen.status).toBe(200);
    await gen.text();

    const google = [
      ['GET', '/v1beta/files/never-seen-file'],
      ['GET', '/gateway/v1/usage'],
      ['POST', '/v1alpha/auth_tokens'],
    ] as const;
    for (const [method, path] of google) {
      const res = await fetch(`${child.url}${path}`, { method, headers: tenant, body: method === 'POST' ? '{}' : undefined });
      const body = await res.text();
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(res.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(body).error).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
    }
    for (const path of ['/admin/v1/tenants', '/admin/v1/usage']) {
      const res = await fetch(`${child.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(JSON.parse(await res.text()).error).toMatchObject({ code: 'unavailable' });
    }
    expect(child.output()).not.toContain(PASSWORD);
    expect(child.output()).not.toContain(ADMIN_TOKEN);
    await proxy.restore();
  }, 40_000);

  it('a key cached before the outage keeps serving through it although an admin write committed just before (the write makes it re-read, not forgotten)', async () => {
    const tenant = { 'x-goog-api-key': key, 'content-type': 'application/json' };
    const generate = () => fetch(`${child.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: tenant, body: '{}' });
    const warm = await generate();
    expect(warm.status).toBe(200);
    await warm.text();
    // Any committed admin change (here an unrelated tenant) tells the key cache that something changed.
    const created = await fetch(`${child.url}/admin/v1/tenants`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ slug: 'unrelated' }),
    });
    expect(created.status).toBe(201);
    await created.text();
    await proxy.cut();
    try {
      const gen = await generate();
      const body = await gen.text();
      expect({ status: gen.status, body: gen.status === 200 ? '' : body }).toEqual({ status: 200, body: '' });
    } finally {
      await proxy.restore();
    }
  }, 40_000);
});
