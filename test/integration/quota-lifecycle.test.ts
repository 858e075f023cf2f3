import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { finalGenerateUsage, loadGenerateChunks } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_ENV, generate, latch, quota, setLimits, testClock, until } from '../support/quota.js';

const UNARY = finalGenerateUsage('google-text', false).totalTokenCount as number;
const FIRST_FRAME = JSON.parse(loadGenerateChunks('google-text')[0]!).usageMetadata.totalTokenCount as number;
const limitOf = (q: any, policy: string) => q.limits.find((l: any) => l.policy === policy);

let h: Harness;
afterEach(async () => h?.close());

describe('counters across restarts and windows', () => {
  it('usage and request counts survive a restart: a second gateway on the same database refuses what the first would', async () => {
    h = await startHarness({ env: ADMIN_ENV, clock: testClock('2026-05-10T12:00:30Z') });
    const key = await h.createKey('acme', 'web');
    await setLimits(h, await h.projectOf(key.id), { limits: [{ tokensPerDay: 600, requestsPerMinute: 3 }] });
    for (let i = 0; i < 2; i++) expect((await generate(h, key.key, { maxOutputTokens: 100 }).then(async (r) => (await r.arrayBuffer(), r))).status).toBe(200);
    await h.restart();
    const q = await quota(h, key.key);
    expect(limitOf(q, 'tpd')).toMatchObject({ used: 2 * UNARY, reserved: 0, remaining: 600 - 2 * UNARY });
    expect(limitOf(q, 'rpm')).toMatchObject({ used: 2, remaining: 1 });
    const res = await generate(h, key.key, { maxOutputTokens: 100 });
    expect(res.status).toBe(429);
    expect((await res.json()).error.message).toContain(`tokens_per_day limit of 600 tokens reached for project acme/web (used ${2 * UNARY})`);
  });

  it('minute, day and month windows reset on UTC boundaries (injected clock)', async () => {
    const clock = testClock('2026-01-29T10:00:30Z');
    h = await startHarness({ env: ADMIN_ENV, clock });
    const key = await h.createKey('acme', 'web');
    await setLimits(h, await h.projectOf(key.id), { limits: [{ requestsPerMinute: 1, tokensPerDay: 300, tokensPerMonth: 600 }] });
    const call = async (maxOutputTokens: number) => {
      const before = (await h.rows()).length;
      const r = await generate(h, key.key, { maxOutputTokens });
      const body = await r.text();
      await h.waitForRows(before + 1);
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body };
    };
    expect((await call(10)).status).toBe(200);
    expect(await call(10)).toMatchObject({ status: 429, retryAfter: '30' }); // same minute
    clock.set('2026-01-29T10:01:00Z');
    const day = await call(100);
    expect(day).toMatchObject({ status: 429, retryAfter: String(14 * 3600 - 60) }); // new minute, day spent
    expect(day.body).toContain('tokens_per_day limit of 300');
    clock.set('2026-01-30T00:00:00Z');
    expect((await call(100)).status).toBe(200); // new UTC day
    clock.set('2026-01-31T00:00:00Z');
    const month = await call(100);
    expect(month).toMatchObject({ status: 429, retryAfter: String(86_400) }); // new day, month spent
    expect(month.body).toContain('tokens_per_month limit of 600');
    clock.set('2026-02-01T00:00:00Z');
    expect((await call(100)).status).toBe(200); // new UTC month
  });
  it('a request whose body arrived across a minute boundary counts in the minute it was admitted in, and wipes no window', async () => {
    const clock = testClock('2026-05-10T12:00:59.900Z');
    h = await startHarness({ env: ADMIN_ENV, clock });
    const key = await h.createKey('acme', 'web');
    await setLimits(h, await h.projectOf(key.id), { limits: [{ requestsPerMinute: 2 }] });
    // A client that starts its request at 12:00:59.9 and finishes sending the body after 12:01.
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    const started = (await h.rows()).length;
    const req = httpRequest(`${h.url}/v1beta/models/google-text:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': key.key, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    const slow = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => (res.resume(), res.on('end', () => resolve(res.statusCode!))));
      req.on('error', reject);
    });
    await new Promise<void>((sent) => req.write(body.slice(0, 10), () => sent()));
    await until(() => h.gateway.deps.lifecycle.inflight === 1);
    clock.set('2026-05-10T12:01:00.100Z');
    const status = async () => (await generate(h, key.key).then(async (r) => (await r.arrayBuffer(), r))).status;
    expect([await status(), await status()]).toEqual([200, 200]); // the minute of 12:01 is spent
    req.end(body.slice(10));
    const slowStatus = await slow;
    const after = await status();
    // Admitted at 12:01: the limit of 2 holds for that minute whichever the slow request got.
    expect([slowStatus, after].filter((s) => s === 200)).toEqual([]);
    expect((await quota(h, key.key)).limits.find((l: any) => l.policy === 'rpm')).toMatchObject({ used: 2, remaining: 0 });
    await h.waitForRows(started + 4);
  });
});

describe('usage that no request holds a lease for', () => {
  it("a finished batch's tokens count against token budgets at once and after a restart alike, and count no request", async () => {
    h = await startHarness({ env: { ...ADMIN_ENV, BATCH_POLL_INTERVAL_MS: '20', BATCH_POLL_MAX_INTERVAL_MS: '40' }, clock: testClock('2026-05-10T12:00:30Z'), fake: { batchRunningPolls: 1 } });
    const key = await h.createKey('acme', 'web');
    await setLimits(h, await h.projectOf(key.id), { limits: [{ tokensPerDay: 100_000, requestsPerMinute: 10 }] });
    await h.sdk(key.key).batches.create({ model: 'gemini-2.5-flash', src: [{ contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] }] });
    let completed: number | null = null;
    for (let i = 0; i < 250 && !completed; i++) {
      completed = (await h.rows()).find((r) => r.endpoint === 'batches.completed')?.total_tokens ?? null;
      if (!completed) await new Promise((r) => setTimeout(r, 20));
    }
    expect(completed).toBeGreaterThan(0);
    const counters = async () => Object.fromEntries((await quota(h, key.key)).limits.map((l: any) => [l.policy, l.used]));
    // The batch's own request is the one request; its results are tokens of the day.
    expect(await counters()).toEqual({ rpm: 1, tpd: completed });
    await h.restart();
    expect(await counters()).toEqual({ rpm: 1, tpd: completed });
  });
});

describe('reservations never leak', () => {
  it('aborted, failed, refused and upstream-rejected requests all leave nothing held', async () => {
    const hold = latch();
    h = await startHarness({
      env: ADMIN_ENV,
      clock: testClock('2026-05-10T12:00:30Z'),
      fake: {
        beforeFrame: (i, req) => {
          if (i !== 1) return;
          if (req.url.includes('fail')) throw new Error('upstream dies mid-stream');
          return hold.wait;
        },
      },
    });
    const key = await h.createKey('acme', 'web');
    await setLimits(h, await h.projectOf(key.id), { limits: [{ tokensPerDay: 100_000, maxConcurrent: 2, requestsPerMinute: 5 }] });

    // Client hangs up after the first frame.
    const abort = new AbortController();
    const res = await generate(h, key.key, { stream: true, maxOutputTokens: 500, signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect((await quota(h, key.key)).inFlight).toEqual({ requests: 1, reservedTokens: 502 });
    abort.abort();
    const [aborted] = await h.waitForRows(1);
    expect(aborted!.outcome).toBe('client_aborted');

    // Upstream dies after the first frame.
    const failed = await generate(h, key.key, { stream: true, model: 'fail', maxOutputTokens: 500 });
    await failed.text().catch(() => '');
    // Upstream answers with an error.
    await generate(h, key.key, { model: 'rate-limited' }).then((r) => r.arrayBuffer());
    const rows = await h.waitForRows(3);
    expect(rows.map((r) => r.outcome)).toEqual(['client_aborted', 'upstream_aborted', 'upstream_error']);

    let q = await quota(h, key.key);
    expect(q.inFlight).toEqual({ requests: 0, reservedTokens: 0 });
    expect(limitOf(q, 'tpd')).toMatchObject({ used: 2 * FIRST_FRAME, reserved: 0 }); // what was streamed is charged
    expect(limitOf(q, 'concurrency')).toMatchObject({ used: 0, remaining: 2 });
    expect(limitOf(q, 'rpm')).toMatchObject({ used: 3 });

    // Refused by the gateway: no slot, no reservation, no request counted.
    await setLimits(h, await h.projectOf(key.id), { limits: [{ tokensPerDay: 100, maxConcurrent: 2, requestsPerMinute: 5 }] });
    expect((await generate(h, key.key, { maxOutputTokens: 500 })).status).toBe(429);
    // Upstream unreachable: the gateway answers 502 and releases at once.
    await h.fake.close();
    await setLimits(h, await h.projectOf(key.id), { limits: [{ tokensPerDay: 100_000, maxConcurrent: 2, requestsPerMinute: 5 }] });
    expect((await generate(h, key.key, { maxOutputTokens: 500 })).status).toBe(502);
    q = await quota(h, key.key);
    expect(q.inFlight).toEqual({ requests: 0, reservedTokens: 0 });
    expect(limitOf(q, 'rpm')).toMatchObject({ used: 4 });
    hold.open();
  });
});

describe('scope of limits', () => {
  it("limits on one project never affect another, nor do another project's requests count", async () => {
    h = await startHarness({ env: ADMIN_ENV, clock: testClock('2026-05-10T12:00:30Z') });
    const limited = await h.createKey('acme', 'web');
    const sibling = await h.createKey('acme', 'batch');
    const sameSlug = await h.createKey('globex', 'web');
    await setLimits(h, await h.projectOf(limited.id), { limits: [{ requestsPerMinute: 1, tokensPerDay: 1000 }] });
    const status = async (k: string) => (await generate(h, k).then(async (r) => (await r.arrayBuffer(), r))).status;
    expect([await status(limited.key), await status(limited.key)]).toEqual([200, 429]);
    for (const k of [sibling.key, sameSlug.key]) expect([await status(k), await status(k), await status(k)]).toEqual([200, 200, 200]);
    await h.waitForRows(8);
    expect(limitOf(await quota(h, limited.key), 'tpd').used).toBe(UNARY);
    expect((await quota(h, sibling.key)).limits).toEqual([]);
  });

  it('a rule narrowed to a key or a model counts and limits only that traffic', async () => {
    h = await startHarness({ env: ADMIN_ENV, clock: testClock('2026-05-10T12:00:30Z') });
    const k1 = await h.createKey('acme', 'web');
    const k2 = await h.createKey('acme', 'web');
    await setLimits(h, await h.projectOf(k1.id), { limits: [{ keyId: k1.id, requestsPerMinute: 1 }, { model: 'models/google-reasoning', requestsPerMinute: 1 }] });
    const status = async (k: string, model?: string) => (await generate(h, k, { model }).then(async (r) => (await r.arrayBuffer(), r))).status;
    expect([await status(k1.key), await status(k1.key)]).toEqual([200, 429]);
    expect([await status(k2.key), await status(k2.key)]).toEqual([200, 200]);
    expect([await status(k2.key, 'google-reasoning'), await status(k2.key, 'google-reasoning')]).toEqual([200, 429]);
    const seen = (q: any) => q.limits.map((l: any) => [l.policy, l.used]);
    expect(seen(await quota(h, k1.key))).toEqual([['key/rpm', 1], ['model/google-reasoning/rpm', 1]]);
    expect(seen(await quota(h, k2.key))).toEqual([['model/google-reasoning/rpm', 1]]);
  });
});
