import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

const run = promisify(execFile);
const body = JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] });

describe('tenant authentication', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  const call = (headers: Record<string, string>, query = '') =>
    request(`${h.url}/v1beta/models/google-text:generateContent${query}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it.each([
    ['missing', {}, ''],
    ['unknown', { 'x-goog-api-key': 'ggw_thisKeyDoesNotExist0000000000000000000000' }, ''],
    ['unknown in ?key=', {}, '?key=ggw_nope'],
    ['not a bearer', { authorization: 'Basic Zm9vOmJhcg==' }, ''],
  ])('answers 401 in Google\'s shape for a %s key and forwards nothing', async (_name, headers, query) => {
    const res = await call(headers, query);
    expect(res.statusCode).toBe(401);
    const json = (await res.body.json()) as { error: { code: number; status: string; message: string } };
    expect(json.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
    expect(json.error.message).not.toContain('ggw_');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('refuses conflicting keys from two sources with 400', async () => {
    const a = await h.createKey();
    const b = await h.createKey('acme', 'other');
    const res = await call({ 'x-goog-api-key': a.key }, `?key=${b.key}`);
    expect(res.statusCode).toBe(400);
    await res.body.arrayBuffer();
    expect(h.fake.requests).toHaveLength(0);
  });

  it('a key revoked by the CLI in another process stops working on the next request', async () => {
    const k = await h.createKey();
    const ok = await call({ 'x-goog-api-key': k.key });
    expect(ok.statusCode).toBe(200);
    await ok.body.arrayBuffer();
    await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'keys', 'revoke', k.id], { env: { ...process.env, ...h.dbEnv } });
    const res = await call({ 'x-goog-api-key': k.key });
    expect(res.statusCode).toBe(401);
    expect(((await res.body.json()) as { error: { message: string } }).error.message).toMatch(/revoked/);
    expect(h.fake.requests).toHaveLength(1);
  });

  it('answers 404 without forwarding for paths that are not versioned API paths', async () => {
    const k = await h.createKey();
    for (const p of ['/', '/admin', '/models/x:generateContent', '/v1beta']) {
      const res = await request(`${h.url}${p}`, { headers: { 'x-goog-api-key': k.key } });
      expect(res.statusCode, p).toBe(404);
      await res.body.arrayBuffer();
    }
    expect(h.fake.requests).toHaveLength(0);
  });
});
