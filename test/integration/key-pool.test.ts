import { afterEach, describe, expect, it } from 'vitest';
import { envKeyId } from '../../src/upstream/key-pool.js';
import { startHarness, UPSTREAM_KEY, UPSTREAM_KEY_2, type Harness } from '../support/harness.js';
import { statusOf } from '../support/sdk-status.js';

const K1 = envKeyId(UPSTREAM_KEY);
const K2 = envKeyId(UPSTREAM_KEY_2);
const ADMIN = 'admin-token-for-tests-0123456789';

/** Which upstream key each upstream request used, by pool id. */
const keysSeen = (h: Harness, part = ':generateContent') =>
  h.fake.requests.filter((r) => r.url.includes(part)).map((r) => envKeyId(String(r.headers['x-goog-api-key'])));

const adminKeys = async (h: Harness) =>
  ((await (await fetch(`${h.url}/admin/v1/upstream-key-pool`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { data: Array<Record<string, unknown>> }).data;

describe('the upstream key pool', () => {
  let h: Harness;
  let now = 1_750_000_000_000;
  const clock = { now: () => now };
  let refuse: Map<string, 'rate-limited' | 'quota-403' | 'invalid'>;
  afterEach(async () => h?.close());

  const start = async (env: Record<string, string> = {}) => {
    refuse = new Map();
    h = await startHarness({
      clock,
      extraUpstreamKeys: [UPSTREAM_KEY_2],
      env: { ADMIN_TOKEN: ADMIN, ...env },
      fake: { refuseKey: (key) => refuse.get(key) ?? null },
    });
    return h.sdk((await h.createKey()).key);
  };
  const ask = (ai: ReturnType<Harness['sdk']>) => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });

  it('spreads requests across healthy keys and records which key served each', async () => {
    const ai = await start();
    for (let i = 0; i < 4; i++) await ask(ai);
    expect(keysSeen(h)).toEqual([K1, K2, K1, K2]);
    expect((await h.waitForRows(4)).map((r) => r.upstream_key_id)).toEqual([K1, K2, K1, K2]);
  });

  it('a 429 on the first key succeeds on the second; the first cools down for RetryInfo\'s delay', async () => {
    const ai = await start();
    refuse.set(UPSTREAM_KEY, 'rate-limited');
    expect(await statusOf(ask(ai))).toBe(200);
    expect(keysSeen(h)).toEqual([K1, K2]);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 200, outcome: 'ok', upstream_key_id: K2 });

    refuse.clear();
    for (let i = 0; i < 3; i++) await ask(ai);
    expect(keysSeen(h).slice(2)).toEqual([K2, K2, K2]); // key 1 is cooling: the fixture says retryDelay 34.4s
    expect((await adminKeys(h)).find((k) => k.id === K1)).toMatchObject({ state: 'cooling', coolingUntil: new Date(now + 34_400).toISOString(), refusals: 1 });

    now += 34_401;
    await ask(ai);
    await ask(ai);
    expect(keysSeen(h).slice(5).sort()).toEqual([K1, K2].sort());
  });

  it('a 403 about quota cools the key down too; retries stop after UPSTREAM_RETRY_ATTEMPTS', async () => {
    const ai = await start({ UPSTREAM_RETRY_ATTEMPTS: '1' });
    refuse.set(UPSTREAM_KEY, 'quota-403');
    refuse.set(UPSTREAM_KEY_2, 'rate-limited');
    expect(await statusOf(ask(ai))).toBe(429); // the second key's own answer reaches the client
    expect(keysSeen(h)).toEqual([K1, K2]);
    expect((await adminKeys(h)).map((k) => k.state)).toEqual(['cooling', 'cooling']);
  });

  it('never retries on a key that is still cooling down: with every key cooling, one upstream call per request', async () => {
    const ai = await start({ UPSTREAM_RETRY_ATTEMPTS: '1' });
    refuse.set(UPSTREAM_KEY, 'rate-limited');
    refuse.set(UPSTREAM_KEY_2, 'rate-limited');
    expect(await statusOf(ask(ai))).toBe(429);
    expect(keysSeen(h)).toHaveLength(2); // both were healthy: the retry was worth it
    expect((await adminKeys(h)).map((k) => k.state)).toEqual(['cooling', 'cooling']);

    now += 1000; // both still cooling
    expect(await statusOf(ask(ai))).toBe(429);
    expect(keysSeen(h)).toHaveLength(3); // the one free soonest answers for itself; the other is not hit again
  });

  it('with UPSTREAM_RETRY_ATTEMPTS=0 the 429 is passed through, yet the key still cools down', async () => {
    const ai = await start({ UPSTREAM_RETRY_ATTEMPTS: '0' });
    refuse.set(UPSTREAM_KEY, 'rate-limited');
    expect(await statusOf(ask(ai))).toBe(429);
    refuse.clear();
    await ask(ai);
    expect(keysSeen(h)).toEqual([K1, K2]);
  });

  it('a key answering API_KEY_INVALID is disabled and reported; the request succeeds on the other key', async () => {
    const ai = await start();
    refuse.set(UPSTREAM_KEY, 'invalid');
    expect(await statusOf(ask(ai))).toBe(200);
    for (let i = 0; i < 2; i++) await ask(ai);
    now += 24 * 3600_000;
    await ask(ai);
    expect(keysSeen(h)).toEqual([K1, K2, K2, K2, K2]);
    expect((await adminKeys(h)).find((k) => k.id === K1)).toMatchObject({ state: 'disabled', disabledReason: 'API_KEY_INVALID' });
    expect(h.logs.some((l) => l.includes('upstream key disabled') && l.includes(K1))).toBe(true);
  });

  it('a stream refused before its first byte is retried; a stream that already started is never retried', async () => {
    const ai = await start();
    refuse.set(UPSTREAM_KEY, 'rate-limited');
    const chunks = [];
    for await (const c of await ai.models.generateContentStream({ model: 'google-text', contents: 'hi' })) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(1);
    expect(keysSeen(h, ':streamGenerateContent')).toEqual([K1, K2]);
  });

  it('never retries once bytes reached the client, even when the stream then fails', async () => {
    refuse = new Map();
    h = await startHarness({
      clock,
      extraUpstreamKeys: [UPSTREAM_KEY_2],
      fake: { beforeFrame: (i) => (i === 2 ? Promise.reject(new Error('upstream died')) : undefined) },
    });
    const ai = h.sdk((await h.createKey()).key);
    const got: unknown[] = [];
    const failed = await (async () => {
      for await (const c of await ai.models.generateContentStream({ model: 'google-text', contents: 'hi' })) got.push(c);
    })().then(() => false, () => true);
    expect(got.length).toBe(2);
    expect(failed).toBe(true);
    expect(keysSeen(h, ':streamGenerateContent')).toEqual([K1]);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ outcome: 'upstream_aborted', upstream_key_id: K1 });
  });

  it('per-key usage is visible in the admin API', async () => {
    const ai = await start();
    await ask(ai);
    await ask(ai);
    await h.waitForRows(2);
    const keys = await adminKeys(h);
    expect(keys.map((k) => [k.id, k.requests, k.state])).toEqual([[K1, 1, 'healthy'], [K2, 1, 'healthy']]);
    expect(keys.every((k) => (k.totalTokens as number) > 0)).toBe(true);
    expect(keys.every((k) => typeof k.lastUsedAt === 'string' && Date.parse(k.lastUsedAt) === now)).toBe(true);
  });
});
