import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyFor, type CreatedKey } from '../../src/accounts/issue-key.js';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { ADMIN_TOKEN, UPSTREAM_KEY } from '../support/harness.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';

/**
 * The "seen within one second" end to end: two gateways on one Postgres database, a change
 * made through gateway A's admin API is enforced by gateway B within 1 s. B's key cache keeps entries
 * for KEY_CACHE_TTL_MS (1000 ms), and B is asked right before each change, so only the change feed
 * (LISTEN/NOTIFY) can make B refuse sooner than that.
 */
describe.runIf(postgresAvailable)('two gateways on one Postgres database', () => {
  let db: TestDatabase;
  let fake: FakeUpstream;
  let a: Gateway;
  let b: Gateway;
  let aUrl: string;
  let bUrl: string;

  const boot = async () => {
    const config = parseConfig({
      PORT: '0', HOST: '127.0.0.1', DATABASE_URL: db.url, UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY, ADMIN_TOKEN,
      LOG_LEVEL: 'silent', KEY_CACHE_TTL_MS: '1000', USAGE_FLUSH_INTERVAL_MS: '20',
    });
    const g = await createGateway({ config, log: createLogger('silent') });
    const { port } = await g.listen();
    return { g, url: `http://127.0.0.1:${port}` };
  };
  const ask = async (url: string, key: string) =>
    (await fetch(`${url}/v1beta/models/google-text:generateContent`, {
      method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    })).status;
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(aUrl + path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  /** Milliseconds from the change until B answers `want` (B asked every 20 ms); fails after 3 s. */
  const until = async (key: string, want: number, change: () => Promise<void>): Promise<number> => {
    await change();
    const t0 = performance.now();
    for (;;) {
      const status = await ask(bUrl, key);
      if (status === want) return performance.now() - t0;
      if (performance.now() - t0 > 3000) throw new Error(`gateway B still answers ${status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const projectOf = async (keyId: string): Promise<string> =>
    ((await (await fetch(`${aUrl}/admin/v1/keys/${keyId}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { projectId: string }).projectId;
  const fresh = async (project: string): Promise<CreatedKey> => {
    const k = await createKeyFor(a.deps.db, systemClock, { tenant: 'acme', project });
    // Both gateways serve it (B's cache now holds it as valid).
    expect([await ask(aUrl, k.key), await ask(bUrl, k.key)]).toEqual([200, 200]);
    return k;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await startFakeUpstream({ upstreamKey: UPSTREAM_KEY });
    ({ g: a, url: aUrl } = await boot());
    ({ g: b, url: bUrl } = await boot());
  });
  afterAll(async () => {
    await a?.shutdown(500);
    await b?.shutdown(500);
    await fake?.close();
    await db?.drop();
  });

  it('a key revoked through gateway A is refused by gateway B within 1 s', async () => {
    const k = await fresh('web');
    const ms = await until(k.key, 401, () => admin('POST', `/admin/v1/keys/${k.id}/revoke`));
    expect(ms).toBeLessThan(1000);
  });

  it('a project disabled through gateway A stops its keys on gateway B within 1 s, and enabling restores them', async () => {
    const k = await fresh('app');
    const projectId = await projectOf(k.id);
    expect(await until(k.key, 401, () => admin('POST', `/admin/v1/projects/${projectId}/disable`))).toBeLessThan(1000);
    expect(await until(k.key, 200, () => admin('POST', `/admin/v1/projects/${projectId}/enable`))).toBeLessThan(1000);
  });

  it('limits changed through gateway A apply on gateway B within 1 s', async () => {
    const k = await fresh('limited');
    const projectId = await projectOf(k.id);
    // B has already served this project once this minute: one request per minute leaves it nothing.
    expect(await until(k.key, 429, () => admin('PUT', `/admin/v1/projects/${projectId}/limits`, { hardCap: false, limits: [{ requestsPerMinute: 1 }] }))).toBeLessThan(1000);
  });
});
