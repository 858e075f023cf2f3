import { afterEach, describe, expect, it } from 'vitest';
import { estimateTokens } from '../../src/quota/estimate.js';
import { loadGenerateChunks } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ADMIN_ENV, generate, latch, meteredTotal, quota, setLimits, testClock } from '../support/quota.js';

const STREAMS = 50;
/** Cumulative totalTokenCount of each google-text stream frame, as the fake upstream replays it. */
const CUMULATIVE = loadGenerateChunks('google-text').map((l) => JSON.parse(l).usageMetadata.totalTokenCount as number);
const STREAM_TOTAL = CUMULATIVE.at(-1)!;
const MAX_FRAME_DELTA = Math.max(...CUMULATIVE.map((c, i) => c - (CUMULATIVE[i - 1] ?? 0)));
/** The estimate the gateway reserves for generate()'s body with a given maxOutputTokens. */
const reserveFor = (maxOutputTokens: number) =>
  estimateTokens('streamGenerateContent', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens } }, 0, 4096);

let h: Harness;
afterEach(async () => h?.close());

/** Starts a harness whose fake upstream holds every stream before its first frame until released. */
async function heldHarness() {
  const gate = latch();
  h = await startHarness({ env: ADMIN_ENV, clock: testClock('2026-05-10T12:00:30Z'), fake: { beforeFrame: (i) => (i === 0 ? gate.wait : undefined) } });
  const key = await h.createKey('acme', 'web');
  return { gate, key, projectId: await h.projectOf(key.id) };
}

/** Fires n streams at once, waits until each is admitted (headers in) or refused, then releases them all. */
async function burst(key: string, n: number, gate: { open(): void }, maxOutputTokens: number) {
  const responses = await Promise.all(Array.from({ length: n }, () => generate(h, key, { stream: true, maxOutputTokens })));
  gate.open();
  const bodies = await Promise.all(responses.map((r) => r.text()));
  return responses.map((r, i) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: bodies[i]! }));
}

describe('token budgets under concurrent streams', () => {
  it(`${STREAMS} concurrent streams never meter more than the budget when reservations cover the output`, async () => {
    const { gate, key, projectId } = await heldHarness();
    const B = 2000;
    await setLimits(h, projectId, { limits: [{ tokensPerDay: B }] });
    const results = await burst(key.key, STREAMS, gate, 250);
    const admitted = results.filter((r) => r.status === 200);
    // Check-then-charge would have admitted all 50 (nothing was charged yet); reservations admit what fits.
    expect(reserveFor(250)).toBeGreaterThanOrEqual(STREAM_TOTAL);
    expect(admitted.length).toBe(Math.floor(B / reserveFor(250)));
    expect(results.filter((r) => r.status === 429).every((r) => Number(r.retryAfter) >= 1)).toBe(true);
    await h.waitForRows(STREAMS);
    expect(await meteredTotal(h)).toBe(admitted.length * STREAM_TOTAL);
    expect(await meteredTotal(h)).toBeLessThanOrEqual(B);
    expect((await quota(h, key.key)).inFlight).toEqual({ requests: 0, reservedTokens: 0 });
  });

  it('with estimates below the real usage, the overshoot stays within the documented bound Σ(actual − reserved)', async () => {
    const { gate, key, projectId } = await heldHarness();
    const B = 1000;
    await setLimits(h, projectId, { limits: [{ tokensPerDay: B }] });
    const results = await burst(key.key, STREAMS, gate, 1);
    const admitted = results.filter((r) => r.status === 200).length;
    await h.waitForRows(STREAMS);
    expect(await meteredTotal(h)).toBeLessThanOrEqual(B + admitted * Math.max(0, STREAM_TOTAL - reserveFor(1)));
    expect(await meteredTotal(h)).toBeGreaterThan(B); // the gap the hard cap closes
  });

  it('with the hard cap on, usage never exceeds the budget by more than one frame, and cut streams end with an error frame', async () => {
    const { gate, key, projectId } = await heldHarness();
    const B = 1000;
    await setLimits(h, projectId, { hardCap: true, limits: [{ tokensPerDay: B }] });
    const results = await burst(key.key, STREAMS, gate, 1);
    expect(results.every((r) => r.status === 200)).toBe(true); // tiny estimates: everything is admitted
    const rows = await h.waitForRows(STREAMS);
    expect(await meteredTotal(h)).toBeLessThanOrEqual(B + MAX_FRAME_DELTA);
    const cut = rows.filter((r) => r.outcome === 'quota_cut');
    expect(cut.length).toBeGreaterThan(0);
    const cutBodies = results.filter((r) => !r.body.includes('"finishReason"'));
    expect(cutBodies.length).toBe(cut.length);
    for (const { body } of cutBodies) {
      const frames = body.split('\r\n\r\n').filter((f) => f.trim() !== '');
      const last = JSON.parse(frames.at(-1)!.replace(/^\n?data: /, ''));
      expect(last.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
      expect(last.error.message).toMatch(/tokens_per_day limit of 1000/);
      for (const f of frames.slice(0, -1)) expect(() => JSON.parse(f.replace(/^\n?data: /, ''))).not.toThrow();
    }
    expect((await quota(h, key.key)).inFlight).toEqual({ requests: 0, reservedTokens: 0 });
  });
});

describe('request and concurrency caps under concurrent load', () => {
  it('requests_per_minute admits exactly the limit out of a burst', async () => {
    h = await startHarness({ env: ADMIN_ENV, clock: testClock('2026-05-10T12:00:30Z') });
    const key = await h.createKey('acme', 'web');
    await setLimits(h, await h.projectOf(key.id), { limits: [{ requestsPerMinute: 10 }] });
    const responses = await Promise.all(Array.from({ length: 40 }, () => generate(h, key.key)));
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(responses.filter((r) => r.status === 200).length).toBe(10);
    expect(responses.filter((r) => r.status === 429).map((r) => r.headers.get('retry-after'))).toEqual(Array(30).fill('30'));
    expect(h.fake.requests.length).toBe(10);
  });

  it('max_concurrent admits exactly the limit while streams are held, with a short Retry-After, and frees the slots', async () => {
    const { gate, key, projectId } = await heldHarness();
    await setLimits(h, projectId, { limits: [{ maxConcurrent: 5 }] });
    const results = await burst(key.key, 20, gate, 100);
    expect(results.filter((r) => r.status === 200).length).toBe(5);
    const refused = results.filter((r) => r.status === 429);
    expect(refused.length).toBe(15);
    expect(refused.every((r) => r.retryAfter === '1' && r.body.includes('max_concurrent limit of 5'))).toBe(true);
    expect(h.fake.requests.length).toBe(5);
    await h.waitForRows(20);
    const again = await Promise.all(Array.from({ length: 5 }, () => generate(h, key.key, { stream: true })));
    await Promise.all(again.map((r) => r.text()));
    expect(again.map((r) => r.status)).toEqual(Array(5).fill(200));
  });
});
