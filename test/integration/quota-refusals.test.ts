import { ApiError } from '@google/genai';
import { afterEach, describe, expect, it } from 'vitest';
import { finalGenerateUsage } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_ENV, generate, setLimits, testClock } from '../support/quota.js';

let h: Harness;
afterEach(async () => h?.close());

async function limited(policy: unknown, clockAt = '2026-05-10T12:00:30Z', follow = false) {
  const clock = testClock(clockAt, follow);
  h = await startHarness({ env: ADMIN_ENV, clock });
  const key = await h.createKey('acme', 'web');
  await setLimits(h, await h.projectOf(key.id), policy);
  return { key, clock };
}

describe('quota refusals', () => {
  it("@google/genai gets a 429 RESOURCE_EXHAUSTED with QuotaFailure, RetryInfo and Retry-After for generateContent", async () => {
    const { key } = await limited({ limits: [{ requestsPerMinute: 1 }] });
    const ai = h.sdk(key.key);
    await ai.models.generateContent({ model: 'google-text', contents: 'hi' });
    const err = await ai.models.generateContent({ model: 'google-text', contents: 'hi' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect((err as ApiError).message).toContain('RESOURCE_EXHAUSTED');

    const res = await generate(h, key.key);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('30');
    const body = await res.json();
    expect(body.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect(body.error.message).toMatch(/requests_per_minute limit of 1 requests reached for project acme\/web/);
    expect(body.error.details).toEqual([
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [expect.objectContaining({ quotaId: 'rpm', quotaMetric: 'gemini-gateway/requests_per_minute', quotaValue: '1' })],
      },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '30s' },
    ]);
    expect(h.fake.requests.length).toBe(1);
  });

  it('interactions callers get {"error":{"code":"resource_exhausted"}} with Retry-After', async () => {
    const { key } = await limited({ limits: [{ tokensPerDay: 100 }] });
    const create = () =>
      fetch(`${h.url}/v1beta/interactions`, {
        method: 'POST',
        headers: { 'x-goog-api-key': key.key, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'basic', input: 'hi', generation_config: { max_output_tokens: 50 } }),
      });
    expect((await create()).status).toBe(200); // 58 tokens metered
    await h.waitForRows(1);
    const res = await create();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe(String(12 * 3600 - 30));
    const body = await res.json();
    expect(Object.keys(body.error)).toEqual(['code', 'message']);
    expect(body.error.code).toBe('resource_exhausted');
    expect(body.error.message).toMatch(/tokens_per_day limit of 100 tokens reached for project acme\/web \(used 58\); this request needs about 5\d tokens/);
  });

  it("the interactions client's automatic retries wait out Retry-After instead of storming", async () => {
    const { key, clock } = await limited({ limits: [{ requestsPerMinute: 1 }] }, '2026-05-10T12:00:50Z', true);
    const ai = h.sdk(key.key);
    await ai.interactions.create({ model: 'basic', input: 'first' });
    // 2 s before the minute resets: Retry-After rounds the wait up, so one refusal and one retry in the new minute
    // (the client's own backoff would have retried after 0.5 s, 1 s and 2 s).
    clock.set('2026-05-10T12:00:58.000Z');
    const started = Date.now();
    const got = await ai.interactions.create({ model: 'basic', input: 'second' });
    expect(got.status).toBeDefined();
    const rows = await h.waitForRows(3);
    expect(rows.map((r) => r.status)).toEqual([200, 429, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});

describe('rate-limit headers', () => {
  it('every proxied response of a limited project carries RateLimit-Policy and RateLimit (IETF draft)', async () => {
    const { key } = await limited({ limits: [{ requestsPerMinute: 5, tokensPerDay: 100_000 }, { model: 'google-text', maxConcurrent: 3 }] });
    const unary = await generate(h, key.key, { maxOutputTokens: 100 });
    await unary.arrayBuffer();
    expect(unary.headers.get('ratelimit-policy')).toBe('"rpm";q=5;w=60, "tpd";q=100000;qu="tokens";w=86400, "model/google-text/concurrency";q=3;qu="concurrent-requests"');
    // After admission: this request's slot and its 102-token reservation are already taken.
    expect(unary.headers.get('ratelimit')).toBe(`"rpm";r=4;t=30, "tpd";r=${100_000 - 102};t=${12 * 3600 - 30}, "model/google-text/concurrency";r=2`);

    await h.waitForRows(1);
    const used = finalGenerateUsage('google-text', false).totalTokenCount as number;
    const stream = await generate(h, key.key, { stream: true, maxOutputTokens: 100 });
    await stream.text();
    expect(stream.headers.get('ratelimit')).toBe(`"rpm";r=3;t=30, "tpd";r=${100_000 - used - 102};t=${12 * 3600 - 30}, "model/google-text/concurrency";r=2`);

    const models = await fetch(`${h.url}/v1beta/models`, { headers: { 'x-goog-api-key': key.key } });
    expect(models.status).toBe(200);
    expect(models.headers.get('ratelimit')).toMatch(/^"rpm";r=2;t=30, "tpd";r=\d+;t=\d+$/);

    const upstream429 = await generate(h, key.key, { model: 'rate-limited' });
    expect(upstream429.status).toBe(429);
    expect(upstream429.headers.get('ratelimit')).toMatch(/^"rpm";r=1;/);

    await generate(h, key.key).then((r) => r.arrayBuffer());
    const refused = await generate(h, key.key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('ratelimit')).toMatch(/^"rpm";r=0;t=30, /);
  });

  it('a project without limits gets no rate-limit headers', async () => {
    h = await startHarness();
    const key = await h.createKey('free', 'app');
    const res = await generate(h, key.key);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit')).toBeNull();
    expect(res.headers.get('ratelimit-policy')).toBeNull();
  });
});
