import { ApiError } from '@google/genai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueKey } from '../support/admin-fixtures.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';

/** Raw call so the test sees the exact status and body the gateway produced. */
async function call(h: Harness, secret: string, method: string, path: string, body?: unknown) {
  const res = await fetch(h.url + path, {
    method,
    headers: { 'x-goog-api-key': secret, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

const gen = { contents: [{ parts: [{ text: 'hi' }] }] };

/** Google's rpc.Status for 403, with a message naming what is not allowed. */
function expectDenied(r: { status: number; body: any }, names: RegExp) {
  expect(r.status).toBe(403);
  expect(r.body).toEqual({ error: { code: 403, status: 'PERMISSION_DENIED', message: expect.stringMatching(names) } });
}

describe('key scopes on the data plane', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
  });
  afterEach(async () => h.close());

  it('a model outside the key\'s models (exact or glob) → 403 PERMISSION_DENIED naming the model; nothing is forwarded', async () => {
    const { secret } = await issueKey(h, { key: { scopes: { models: ['gemini-2.5-flash', 'google-*'] } } });
    expectDenied(await call(h, secret, 'POST', '/v1beta/models/gemini-2.5-pro:generateContent', gen), /model "gemini-2\.5-pro".*gemini-2\.5-flash, google-\*/);
    expectDenied(await call(h, secret, 'POST', '/v1beta/models/gemini-2.5-flash-lite:countTokens', gen), /gemini-2\.5-flash-lite/);
    expect(h.fake.requests).toHaveLength(0);

    expect((await call(h, secret, 'POST', '/v1beta/models/gemini-2.5-flash:generateContent', gen)).status).toBe(200);
    expect((await call(h, secret, 'POST', '/v1beta/models/google-reasoning:generateContent', gen)).status).toBe(200);
    expect(h.fake.requests).toHaveLength(2);
    const rows = await h.waitForRows(4);
    expect(rows.map((r) => [r.model, r.status, r.outcome])).toEqual([
      ['gemini-2.5-pro', 403, 'gateway_error'],
      ['gemini-2.5-flash-lite', 403, 'gateway_error'],
      ['gemini-2.5-flash', 200, 'ok'],
      ['google-reasoning', 200, 'ok'],
    ]);
  });

  it('the SDK sees a scope refusal as ApiError 403', async () => {
    const { secret } = await issueKey(h, { key: { scopes: { models: ['gemini-2.5-flash'] } } });
    const err = await h.sdk(secret).models.generateContent({ model: 'gemini-2.5-pro', contents: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(403);
    expect((err as ApiError).message).toMatch(/PERMISSION_DENIED/);
  });

  it('interactions are model-scoped by the model in the body', async () => {
    const { secret } = await issueKey(h, { key: { scopes: { models: ['basic'] } } });
    expectDenied(await call(h, secret, 'POST', '/v1beta/interactions', { model: 'google-search', input: 'hi' }), /model "google-search"/);
    expectDenied(await call(h, secret, 'POST', '/v1beta/interactions', { agent: 'deep-research', input: 'hi' }), /names no model/);
    expect(h.fake.requests).toHaveLength(0);
    expect((await call(h, secret, 'POST', '/v1beta/interactions', { model: 'basic', input: 'hi' })).status).toBe(200);
  });

  it('creating a context cache is model-scoped by the model in the body; reading caches is not', async () => {
    const { secret } = await issueKey(h, { key: { scopes: { models: ['gemini-2.5-flash'] } } });
    const cache = (model?: string) => ({ ...(model ? { model } : {}), contents: [{ role: 'user', parts: [{ text: 'a long document' }] }], ttl: '300s' });
    expectDenied(await call(h, secret, 'POST', '/v1beta/cachedContents', cache('models/gemini-2.5-pro')), /model "gemini-2\.5-pro"/);
    expectDenied(await call(h, secret, 'POST', '/v1beta/cachedContents', cache()), /names no model/);
    expect(h.fake.requests).toHaveLength(0);
    expect((await call(h, secret, 'POST', '/v1beta/cachedContents', cache('models/gemini-2.5-flash'))).status).toBe(200);
    expect((await call(h, secret, 'GET', '/v1beta/cachedContents')).status).toBe(200);
    expect(h.fake.requests).toHaveLength(2);
  });

  it('an endpoint family the key lacks → 403 naming the family; nothing is forwarded', async () => {
    const { secret } = await issueKey(h, { key: { scopes: { endpoints: ['generate', 'models'] } } });
    expectDenied(await call(h, secret, 'POST', '/v1beta/models/google-text:streamGenerateContent?alt=sse', gen), /"stream" endpoint family \(allowed: generate, models\)/);
    expectDenied(await call(h, secret, 'POST', '/v1beta/models/google-text:countTokens', gen), /"count"/);
    expectDenied(await call(h, secret, 'POST', '/v1beta/models/gemini-embedding-001:batchEmbedContents', { requests: [] }), /"embed"/);
    expectDenied(await call(h, secret, 'POST', '/v1beta/interactions', { model: 'basic', input: 'hi' }), /"interactions"/);
    expectDenied(await call(h, secret, 'GET', '/v1beta/files'), /"files"/);
    expectDenied(await call(h, secret, 'GET', '/v1beta/cachedContents'), /"caches"/);
    expectDenied(await call(h, secret, 'GET', '/v1beta/batches'), /"batches"/);
    expectDenied(await call(h, secret, 'POST', '/v1beta/models/imagen-3:predict', {}), /this endpoint/);
    expect(h.fake.requests).toHaveLength(0);
    expect((await call(h, secret, 'POST', '/v1beta/models/google-text:generateContent', gen)).status).toBe(200);
    expect((await call(h, secret, 'GET', '/v1beta/models')).status).toBe(200);
  });

  it('a source address outside the key\'s CIDRs → 403 naming the address; inside → forwarded', async () => {
    const outside = await issueKey(h, { project: 'far', key: { scopes: { cidrs: ['10.0.0.0/8', 'fd00::/8'] } } });
    const inside = await issueKey(h, { project: 'near', key: { scopes: { cidrs: ['10.0.0.0/8', '127.0.0.0/8'] } } });
    expectDenied(await call(h, outside.secret, 'POST', '/v1beta/models/google-text:generateContent', gen), /from 127\.0\.0\.1 \(allowed networks: 10\.0\.0\.0\/8, fd00::\/8\)/);
    expect(h.fake.requests).toHaveLength(0);
    expect((await call(h, inside.secret, 'POST', '/v1beta/models/google-text:generateContent', gen)).status).toBe(200);
  });

  it('a key used from outside its CIDRs reads nothing from /gateway/v1 either (403 naming the address)', async () => {
    const outside = await issueKey(h, { project: 'far', key: { scopes: { cidrs: ['10.0.0.0/8'] } } });
    const inside = await issueKey(h, { project: 'near', key: { scopes: { cidrs: ['127.0.0.0/8'] } } });
    for (const path of ['/gateway/v1/usage', '/gateway/v1/usage/events', '/gateway/v1/quota']) {
      expectDenied(await call(h, outside.secret, 'GET', path), /from 127\.0\.0\.1 \(allowed networks: 10\.0\.0\.0\/8\)/);
      const viaQuery = await fetch(`${h.url}${path}?key=${encodeURIComponent(outside.secret)}`);
      expect(viaQuery.status).toBe(403);
      expect((await call(h, inside.secret, 'GET', path)).status).toBe(200);
    }
  });

  it('the admin API rejects malformed scopes', async () => {
    const { projectId } = await issueKey(h);
    for (const scopes of [{ endpoints: ['chat'] }, { cidrs: ['10.0.0.0/33'] }, { models: [] }, { models: ['a b'] }, { other: ['x'] }]) {
      const r = await h.admin('POST', '/admin/v1/keys', { projectId, scopes });
      expect(r.status, JSON.stringify(scopes)).toBe(400);
      expect(r.body.error.code).toBe('invalid_argument');
    }
  });
});
