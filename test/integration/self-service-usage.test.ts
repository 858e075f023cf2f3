import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_TOKEN, seedEvents, seedKey, tokens, type SeedKey } from '../support/usage-seed.js';

const NOW = Date.parse('2026-06-15T12:30:00Z');
let h: Harness;
let web: SeedKey, webToo: SeedKey, other: SeedKey, elsewhere: SeedKey;

beforeAll(async () => {
  h = await startHarness({ env: { ADMIN_TOKEN }, clock: { now: () => NOW } });
  web = await seedKey(h, 'acme', 'web');
  webToo = await seedKey(h, 'acme', 'web');
  other = await seedKey(h, 'acme', 'batch');
  elsewhere = await seedKey(h, 'globex', 'web');
  const ev = (key: SeedKey, at: string, prompt: number) =>
    ({ at, key, model: 'gemini-2.5-flash', endpoint: 'generateContent', outcome: 'ok' as const, usage: tokens(prompt, 10), latencyMs: 100, ttfbMs: 50 });
  await seedEvents(h, [
    ev(web, '2026-06-01T10:00:00Z', 100), ev(webToo, '2026-06-02T10:00:00Z', 200),
    ev(other, '2026-06-01T10:00:00Z', 1000), ev(elsewhere, '2026-06-01T10:00:00Z', 5000),
  ]);
});
afterAll(async () => h.close());

async function selfService(key: string | null, query: string, how: 'header' | 'bearer' | 'query' = 'header') {
  const headers: Record<string, string> = {};
  let url = `${h.url}/gateway/v1/usage${query}`;
  if (key && how === 'header') headers['x-goog-api-key'] = key;
  if (key && how === 'bearer') headers.authorization = `Bearer ${key}`;
  if (key && how === 'query') url += `${query.includes('?') ? '&' : '?'}key=${encodeURIComponent(key)}`;
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as any };
}

describe('GET /gateway/v1/usage (self-service)', () => {
  it("shows a key its own project's usage, every key of that project included", async () => {
    for (const how of ['header', 'bearer', 'query'] as const) {
      const { status, body } = await selfService(web.key, '?from=2026-06-01&to=2026-06-03&groupBy=day,key', how);
      expect(status).toBe(200);
      expect(body.groups.map((g: any) => [g.day, g.keyPrefix, g.promptTokens])).toEqual([
        ['2026-06-01', web.prefix, 100],
        ['2026-06-02', webToo.prefix, 200],
      ]);
    }
  });

  it('never shows another project, whatever the filters say', async () => {
    const q = '?from=2026-06-01&to=2026-06-03';
    for (const filter of ['&project=batch', `&project=${other.projectId}`, `&project=${elsewhere.projectId}`, '&tenant=globex', `&key=${other.id}`, `&key=${elsewhere.prefix}`]) {
      const { status, body } = await selfService(web.key, q + filter + '&groupBy=project');
      expect({ filter, status, groups: body.groups }).toEqual({ filter, status: 200, groups: [] });
    }
    // A project slug shared by two tenants still resolves to the caller's own project only.
    const shared = await selfService(elsewhere.key, `${q}&project=web&groupBy=project`);
    expect(shared.body.groups.map((g: any) => [g.projectId, g.promptTokens])).toEqual([[elsewhere.projectId, 5000]]);
    const { body } = await selfService(other.key, `${q}&groupBy=tenant,project`);
    expect(body.totals.promptTokens).toBe(1000);
  });

  it('lists only its own raw events', async () => {
    const res = await fetch(`${h.url}/gateway/v1/usage/events?project=${elsewhere.projectId}`, { headers: { 'x-goog-api-key': web.key } });
    expect((await res.json()).data).toEqual([]);
    const own = (await (await fetch(`${h.url}/gateway/v1/usage/events`, { headers: { 'x-goog-api-key': webToo.key } })).json()) as any;
    expect(own.data.map((e: any) => e.promptTokens)).toEqual([200, 100]);
  });

  it('tells caches not to keep any answer: a key sent as a header is invisible to a shared cache, which would hand one project\'s usage to the next caller of the same URL', async () => {
    for (const path of ['/gateway/v1/usage?from=2026-06-01&to=2026-06-03', '/gateway/v1/usage/events', '/gateway/v1/usage?format=csv&from=2026-06-01&to=2026-06-03', '/gateway/v1/quota']) {
      const res = await fetch(`${h.url}${path}`, { headers: { 'x-goog-api-key': web.key } });
      await res.arrayBuffer();
      expect({ path, status: res.status, cache: res.headers.get('cache-control') }).toEqual({ path, status: 200, cache: 'no-store' });
    }
  });

  it('refuses missing, unknown and revoked keys, and the admin token, in Google’s error shape', async () => {
    expect(await selfService(null, '')).toMatchObject({ status: 401, body: { error: { status: 'UNAUTHENTICATED' } } });
    expect((await selfService(ADMIN_TOKEN, '', 'bearer')).status).toBe(401);
    expect((await selfService(`${web.key}x`, '')).status).toBe(401);
    const doomed = await seedKey(h, 'acme', 'web');
    expect((await h.admin('POST', `/admin/v1/keys/${doomed.id}/revoke`)).status).toBe(200);
    expect((await selfService(doomed.key, '')).body.error.message).toMatch(/revoked/);
    expect(await selfService(web.key, '?groupBy=week')).toMatchObject({ status: 400, body: { error: { status: 'INVALID_ARGUMENT' } } });
  });

  it('refuses a parameter it does not know in Google’s error shape, and still takes the key as ?key= everywhere', async () => {
    const cases: [string, string][] = [
      ['/gateway/v1/usage?projectId=batch', '"projectId" (did you mean "project"?)'],
      ['/gateway/v1/usage/events?page_size=5', '"page_size"'],
      ['/gateway/v1/quota?model=x', '"model"'],
    ];
    for (const [path, hint] of cases) {
      const res = await fetch(h.url + path, { headers: { 'x-goog-api-key': web.key } });
      const body = (await res.json()) as any;
      expect({ path, status: res.status, error: body.error }).toEqual({ path, status: 400, error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining(hint) } });
    }
    // Authentication first: without a key the answer is 401 whatever the query holds.
    expect((await selfService(null, '?projectId=batch')).status).toBe(401);
    expect((await selfService(web.key, '?from=2026-06-01&to=2026-06-03&groupBy=day', 'query')).status).toBe(200);
    expect((await fetch(`${h.url}/gateway/v1/quota?key=${encodeURIComponent(web.key)}`)).status).toBe(200);
    expect((await fetch(`${h.url}/gateway/v1/openapi.json?v=2`)).status).toBe(200);
  });

  it('forwards the data plane’s query parameters to Google untouched (the strict check is for /admin and /gateway only)', async () => {
    const res = await fetch(`${h.url}/v1beta/models?pageSize=2&someFutureParam=x`, { headers: { 'x-goog-api-key': web.key } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(h.fake.requests.at(-1)!.url).toBe('/v1beta/models?pageSize=2&someFutureParam=x');
  });
});
