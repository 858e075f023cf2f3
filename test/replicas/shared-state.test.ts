// What one replica learns, the others act on: upstream key cooldowns, revocations, the auth throttle,
// and cache invalidation that survives a missed message.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createChangeFeed, type Change } from '../../src/shared/change-feed.js';
import { createSharedKeyHealth } from '../../src/replicas/key-health.js';
import { createEnvKeyPool, envKeyId } from '../../src/upstream/key-pool.js';
import { connectShared, type SharedState } from '../../src/shared/redis.js';
import { UPSTREAM_KEY, UPSTREAM_KEY_2 } from '../support/harness.js';
import { dropPrefix, testPrefix, TEST_REDIS_URL } from '../support/redis-server.js';
import { startReplicas, until, type Replicas } from '../support/replicas.js';

let r: Replicas | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await r?.close();
  r = undefined;
  for (const c of cleanups.splice(0)) await c();
});

const call = (url: string, key: string) =>
  fetch(`${url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: '{}' });

describe.runIf(inject('redisAvailable'))('state shared across 3 replicas', { timeout: 90_000 }, () => {
  it('a key cooling down after an upstream 429 on replica 1 is skipped by replicas 2 and 3', async () => {
    let refuse = true;
    r = await startReplicas(3, {
      env: { GEMINI_API_KEYS: UPSTREAM_KEY_2 },
      fake: { moreUpstreamKeys: () => [UPSTREAM_KEY_2], refuseKey: (k) => (refuse && k === UPSTREAM_KEY ? 'rate-limited' : null) },
    });
    const [one, two, three] = r.gateways as [typeof r.gateways[0], typeof r.gateways[0], typeof r.gateways[0]];
    // Replica 1 meets the 429 on the first key and retries on the second.
    await until('replica 1 to meet the 429', async () => {
      await (await call(one.url, r!.key)).arrayBuffer();
      return r!.fake.requests.some((x) => x.headers['x-goog-api-key'] === UPSTREAM_KEY && x.status === 429);
    });
    refuse = false;
    await new Promise((x) => setTimeout(x, 300));
    const mark = r.fake.requests.length;
    for (let i = 0; i < 8; i++) expect((await call([two, three][i % 2]!.url, r.key)).status).toBe(200);
    const used = r.fake.requests.slice(mark).map((x) => x.headers['x-goog-api-key']);
    expect(used).toHaveLength(8);
    expect(used.every((k) => k === UPSTREAM_KEY_2)).toBe(true);
  });

  it('a key revoked through replica 1 is refused by replicas 2 and 3 within 1 s', async () => {
    r = await startReplicas(3);
    const [, two, three] = r.gateways as [typeof r.gateways[0], typeof r.gateways[0], typeof r.gateways[0]];
    for (const g of [two, three]) expect((await call(g.url, r.key)).status).toBe(200);
    const revoked = await r.admin('POST', `/admin/v1/keys/${r.keyId}/revoke`);
    expect(revoked.status).toBe(200);
    const at = Date.now();
    for (const g of [two, three]) await until('the revoked key refused', async () => (await call(g.url, r!.key)).status === 401, 1000);
    expect(Date.now() - at).toBeLessThan(1000);
  });

  it('failed key checks count across replicas: a source over the limit is throttled by all of them', async () => {
    r = await startReplicas(3, { env: { AUTH_FAILURE_LIMIT: '4' } });
    const [one, two, three] = r.gateways as [typeof r.gateways[0], typeof r.gateways[0], typeof r.gateways[0]];
    const bad = 'ggw_' + 'x'.repeat(43);
    for (const g of [one, one, two, two]) expect((await call(g.url, bad)).status).toBe(401);
    await until('replica 3 to throttle the source', async () => (await call(three.url, bad)).status === 429, 1000);
    // Valid keys from that source are refused too, or the difference would answer the guess.
    expect((await call(three.url, r.key)).status).toBe(429);
  });
});

/** Two replicas' change feeds on one prefix; `seen` is what the second hears. */
async function feedPair() {
  const prefix = testPrefix();
  const log = createLogger('silent');
  const a: SharedState = await connectShared(TEST_REDIS_URL, prefix);
  const b: SharedState = await connectShared(TEST_REDIS_URL, prefix);
  const fa = createChangeFeed(a, log);
  const fb = createChangeFeed(b, log);
  cleanups.push(async () => {
    await fa.close();
    await fb.close();
    await a.close();
    await b.close();
    await dropPrefix(TEST_REDIS_URL, prefix);
  });
  const seen: Change[] = [];
  fb.subscribe((c) => seen.push(c));
  await new Promise((x) => setTimeout(x, 400));
  return { prefix, fa, seen };
}

describe.runIf(inject('redisAvailable'))('change feed', { timeout: 90_000 }, () => {
  it('delivers another replica\'s change and never echoes one back to its sender', async () => {
    const { fa, seen } = await feedPair();
    fa.publish({ topic: 'accounts' });
    await until('the change to arrive', () => seen.length > 0, 1000);
    expect(seen).toEqual([{ topic: 'accounts' }]);
  });

  it('a missed message still invalidates everything within a second (version poll)', async () => {
    const { prefix, seen } = await feedPair();
    // A change whose message never arrives: the version moves, nothing is published.
    const raw = new Redis(TEST_REDIS_URL);
    await raw.incr(`${prefix}:changes:version`);
    raw.disconnect();
    const at = Date.now();
    await until('the poll to notice', () => seen.some((c) => c.topic === '*'), 1000);
    expect(Date.now() - at).toBeLessThan(1000);
  });
});

describe.runIf(inject('redisAvailable'))('change feed after Redis lost its data', { timeout: 90_000 }, () => {
  it('a message missed after the version counter was lost still invalidates everything within a second', async () => {
    const { prefix, fa, seen } = await feedPair();
    const raw = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => void raw.disconnect());
    for (let i = 0; i < 3; i++) fa.publish({ topic: 'accounts' });
    await until('the changes to arrive', () => seen.length === 3, 1000);
    const versionKey = `${prefix}:changes:version`;
    // Redis restarted without its data (or evicted the key): the counter starts again from nothing,
    // and the poll settles on that before the next change.
    await raw.del(versionKey);
    await new Promise((x) => setTimeout(x, 700));
    seen.length = 0;
    // A change whose message never arrives (sent while b's subscription was reconnecting).
    await raw.incr(versionKey);
    await until('the poll to notice', () => seen.some((c) => c.topic === '*'), 1000);
  });
});

describe.runIf(inject('redisAvailable'))('upstream key health shared through Redis', { timeout: 90_000 }, () => {
  it('a key disabled as invalid stays disabled on every running replica, and only until a replica restarts', async () => {
    const prefix = testPrefix();
    const log = createLogger('silent');
    const clock = { now: () => Date.now() };
    /** One gateway process's view: its own pool, kept in step through Redis. */
    const replica = async () => {
      const shared = await connectShared(TEST_REDIS_URL, prefix);
      const feed = createChangeFeed(shared, log);
      const pool = createEnvKeyPool([UPSTREAM_KEY, UPSTREAM_KEY_2], { clock, log, defaultCooldownMs: 60_000 });
      const health = createSharedKeyHealth({ shared, feed, log, clock });
      health.attach(pool);
      cleanups.push(async () => {
        await feed.close();
        await shared.close();
      });
      return { pool, health, state: () => pool.health().map((k) => k.state) };
    };
    cleanups.push(() => dropPrefix(TEST_REDIS_URL, prefix));
    const one = await replica();
    const two = await replica();
    await new Promise((x) => setTimeout(x, 400));

    one.pool.report(envKeyId(UPSTREAM_KEY), { kind: 'invalid', reason: 'API_KEY_INVALID' });
    one.health.onChange(envKeyId(UPSTREAM_KEY), 0, 'API_KEY_INVALID');
    await until('replica 2 to hear of the disable', () => two.state()[0] === 'disabled', 1000);

    // The operator fixed the key and restarted a gateway: the restarted one uses it again.
    const restarted = await replica();
    await new Promise((x) => setTimeout(x, 400));
    expect(restarted.state()).toEqual(['healthy', 'healthy']);
    expect(two.state()).toEqual(['disabled', 'healthy']);

    // Refused again after that start, it is disabled there too.
    two.health.onChange(envKeyId(UPSTREAM_KEY), 0, 'API_KEY_INVALID');
    await until('the restarted replica to hear of the new disable', () => restarted.state()[0] === 'disabled', 1000);
  });
});
