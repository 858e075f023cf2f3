// The shared counters' scripts against a real Redis: all-or-none admission, windows seeded from the
// database exactly once even when replicas race, lapsed leases, and settlement idempotence.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.js';
import { openStore } from '../../src/db/store.js';
import { createLogger } from '../../src/logger.js';
import type { Usage } from '../../src/metering/usage.js';
import { createQuotas } from '../../src/quota/quotas.js';
import { createRedisCounters, type ReadCell } from '../../src/quota/redis-counters.js';
import { SharedUnavailableError, type SharedBucket, type SharedCounters, type SharedSettlement } from '../../src/quota/shared-counters.js';
import { windowStart, WINDOW_KINDS } from '../../src/quota/windows.js';
import { connectShared, type SharedState } from '../../src/shared/redis.js';
import { dropPrefix, testPrefix, TEST_REDIS_URL } from '../support/redis-server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const log = createLogger('silent');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function replica(prefix: string, readCell: ReadCell, leaseMs = 15_000): Promise<SharedCounters> {
  const shared: SharedState = await connectShared(TEST_REDIS_URL, prefix);
  const counters = createRedisCounters({ shared, leaseMs, readCell, log });
  cleanups.push(async () => {
    await counters.close();
    await shared.close();
  });
  return counters;
}

function setup() {
  const prefix = testPrefix();
  cleanups.push(() => dropPrefix(TEST_REDIS_URL, prefix));
  return prefix;
}

const now = () => Date.now();
const starts = (t: number) => Object.fromEntries(WINDOW_KINDS.map((k) => [k, windowStart(k, t)])) as Record<(typeof WINDOW_KINDS)[number], number>;
/** The settlement of a lease on project() buckets, charging `tokens` in the windows of `t`. */
const settlement = (projectId: string, leaseId: string | null, tokens: number, id: string, t: number): SharedSettlement => ({
  projectId, leaseId, admitted: [['project', ''], ['key', 'key_1']], starts: starts(t), requests: null, id,
  charged: [['project', ''], ['key', 'key_1']], chargedStarts: starts(t), tokens, lateModel: null, now: t,
});
const project = (limits: SharedBucket['limits']): SharedBucket[] => [
  { dim: 'project', value: '', limits },
  { dim: 'key', value: 'key_1', limits: null },
];

describe.runIf(inject('redisAvailable'))('Redis quota counters', () => {
  it('seeds a window from the database once, even when replicas race to seed it', async () => {
    const prefix = setup();
    let reads = 0;
    // The persisted day counter says 900 of 1000 tokens are spent; slow reads widen the race.
    const readCell: ReadCell = async (_p, dim, _v, kind) => {
      reads++;
      await new Promise((r) => setTimeout(r, 50));
      return dim === 'project' && kind === 'day' ? { tokens: 900, requests: 9 } : { tokens: 0, requests: 0 };
    };
    const replicas = await Promise.all([replica(prefix, readCell), replica(prefix, readCell), replica(prefix, readCell)]);
    const t = now();
    // The project's epoch starts now, so the day window began before it: it needs the seed.
    const results = await Promise.all(replicas.map((c) => c.admit('prj_1', project({ tpd: 1000 }), 40, starts(t), t)));
    expect(results.filter((r) => r.admitted)).toHaveLength(2);
    expect(reads).toBeGreaterThan(0);
    const redis = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => void redis.disconnect());
    const day = await redis.hgetall(`${prefix}:q:{prj_1}:w:project::day:${starts(t).day}`);
    // Seeded once (900, 9), plus the two admitted requests: a second seed would have reset it.
    expect(day).toEqual({ tokens: '900', requests: '11' });
  });

  it('admits on all buckets or none, and a settled lease frees its reservation', async () => {
    const prefix = setup();
    const c = await replica(prefix, () => ({ tokens: 0, requests: 0 }));
    const t = now();
    const buckets: SharedBucket[] = [
      { dim: 'project', value: '', limits: { rpm: 100 } },
      { dim: 'key', value: 'key_1', limits: { maxConcurrent: 1 } },
    ];
    const first = await c.admit('prj_2', buckets, 0, starts(t), t);
    expect(first.admitted).toBe(true);
    const second = await c.admit('prj_2', buckets, 0, starts(t), t);
    expect(second.admitted).toBe(false);
    // Refused on the key bucket, so the project bucket counted nothing either.
    expect(second.counts[0]!.windows.minute.requests).toBe(1);
    c.settle(settlement('prj_2', first.leaseId, 7, 's1', t));
    await new Promise((r) => setTimeout(r, 100));
    const third = await c.admit('prj_2', buckets, 0, starts(t), t);
    expect(third.admitted).toBe(true);
    expect(third.counts[0]!.windows.minute).toEqual({ tokens: 7, requests: 2 });
  });

  it('a settlement made in the same turn as the next admission reaches Redis before it', async () => {
    const prefix = setup();
    const c = await replica(prefix, () => ({ tokens: 0, requests: 0 }));
    const t = now();
    const buckets = project({ maxConcurrent: 1 });
    const first = await c.admit('prj_5', buckets, 0, starts(t), t);
    expect(first.admitted).toBe(true);
    // Settlements wait for the end of the event-loop turn; an admission asked for first must not overtake them.
    c.settle(settlement('prj_5', first.leaseId, 3, 's5', t));
    const second = await c.admit('prj_5', buckets, 0, starts(t), t);
    expect(second.admitted).toBe(true);
    expect(second.counts[0]!).toMatchObject({ inFlight: 1, windows: { minute: { tokens: 3, requests: 2 } } });
  });

  it('a settlement that releases a lease is on its way to Redis before settle() returns: another replica\'s admission written later in the same turn finds the slot free', async () => {
    const prefix = setup();
    const a = await replica(prefix, () => ({ tokens: 0, requests: 0 }));
    const b = await replica(prefix, () => ({ tokens: 0, requests: 0 }));
    const t = now();
    const buckets = project({ maxConcurrent: 1 });
    const held = await a.admit('prj_9', buckets, 0, starts(t), t);
    expect(held.admitted).toBe(true);
    // B already has a command waiting for the end of this turn (its admissions leave corked together),
    // as a replica under load does. The client saw A's response end, then asked B: B's admission
    // must not reach Redis ahead of A's release, or the finished request still holds the slot.
    const other = b.admit('prj_other', project({ maxConcurrent: 1 }), 0, starts(t), t);
    a.settle(settlement('prj_9', held.leaseId, 5, 's9', t));
    const next = await b.admit('prj_9', buckets, 0, starts(t), t);
    await other;
    expect(next.admitted).toBe(true);
    expect(next.counts[0]!).toMatchObject({ inFlight: 1, windows: { minute: { tokens: 5, requests: 2 } } });
  });

  it('a settlement still waiting for the end of its turn is applied when the replica closes first', async () => {
    const prefix = setup();
    const shared = await connectShared(TEST_REDIS_URL, prefix);
    const c = createRedisCounters({ shared, leaseMs: 15_000, readCell: () => ({ tokens: 0, requests: 0 }), log });
    const t = now();
    const buckets = project({ tpd: 1_000_000 });
    const a = await c.admit('prj_6', buckets, 10, starts(t), t);
    c.settle(settlement('prj_6', a.leaseId, 31, 's6', t));
    await c.close();
    await shared.close();
    const redis = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => void redis.disconnect());
    expect(await redis.hget(`${prefix}:q:{prj_6}:w:project::day:${starts(t).day}`, 'tokens')).toBe('31');
  });

  it('a finished batch counted on two replicas at once (the same completion row) charges the shared windows once; other usage counts each time', async () => {
    const prefix = setup();
    const dir = mkdtempSync(join(tmpdir(), 'ggw-count-once-'));
    const store = await openStore(parseConfig({ DATABASE_PATH: join(dir, 'gateway.db') }));
    cleanups.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const clock = { now: () => Date.now() };
    const quotasOf = async () => createQuotas({ db: store.db, clock, log, shared: await replica(prefix, () => ({ tokens: 0, requests: 0 })) });
    const [one, two] = [await quotasOf(), await quotasOf()];
    // The project's windows exist in Redis (seeded at 0), as they do once any request was admitted.
    const reader = await replica(prefix, () => ({ tokens: 0, requests: 0 }));
    const t = now();
    await reader.admit('prj_9', project({ tpd: 1_000_000 }), 0, starts(t), t);
    const completion = { projectId: 'prj_9', keyId: 'key_1', model: 'gemini-2.5-flash', usage: { totalTokens: 40 } as Usage, rowKey: 'completed:batches/b1' };
    one.count(completion, clock.now());
    two.count(completion, clock.now());
    // Usage without a row key of its own is distinct usage, however alike: both count.
    one.count({ ...completion, rowKey: undefined }, clock.now());
    two.count({ ...completion, rowKey: undefined }, clock.now());
    await new Promise((r) => setTimeout(r, 150));
    const seen = await reader.admit('prj_9', project({ tpd: 1_000_000 }), 0, starts(t), t);
    expect(seen.counts[0]!.windows.day.tokens).toBe(40 + 2 * 40);
  });

  it('a settlement applied twice (a retry after its answer was lost) counts once', async () => {
    const prefix = setup();
    const c = await replica(prefix, () => ({ tokens: 0, requests: 0 }));
    const t = now();
    const buckets = project({ tpd: 1_000_000 });
    const lease = await c.admit('prj_4', buckets, 10, starts(t), t);
    const once = settlement('prj_4', lease.leaseId, 25, 'same', t);
    c.settle(once);
    c.settle(once);
    await new Promise((r) => setTimeout(r, 150));
    const after = await c.admit('prj_4', buckets, 10, starts(t), t);
    expect(after.counts[0]!.windows.day.tokens).toBe(25);
    expect(c.pending()).toBe(0);
  });

  it("a replica that stops renewing loses its leases within the lease time; settling a lapsed lease changes nothing", async () => {
    const prefix = setup();
    const dead = await replica(prefix, () => ({ tokens: 0, requests: 0 }), 1000);
    const alive = await replica(prefix, () => ({ tokens: 0, requests: 0 }), 1000);
    const t = now();
    const buckets = project({ maxConcurrent: 2, tpd: 10_000 });
    const held = await dead.admit('prj_3', buckets, 500, starts(t), t);
    await alive.admit('prj_3', buckets, 500, starts(t), t);
    expect((await alive.admit('prj_3', buckets, 500, starts(t), t)).admitted).toBe(false);
    // The dead replica's renewal stops (as if SIGKILLed); the live one keeps renewing its own.
    await dead.close();
    await new Promise((r) => setTimeout(r, 1300));
    const after = await alive.admit('prj_3', buckets, 500, starts(t), t);
    expect(after.admitted).toBe(true);
    expect(after.counts[0]!.held).toBe(1000);
    expect(after.counts[0]!.inFlight).toBe(2);
    // A late settlement of the lapsed lease does not subtract its reservation a second time.
    alive.settle(settlement('prj_3', held.leaseId, 0, 's2', t));
    await new Promise((r) => setTimeout(r, 100));
    const check = await alive.admit('prj_3', project({ maxConcurrent: 3 }), 0, starts(t), t);
    expect(check.counts[0]!.held).toBe(1000);
  });
});

/** Counters whose Redis connection runs through a TCP proxy the test controls; closed after the test. */
async function behindProxy(prefix: string, leaseMs: number, logTo = log) {
  const target = new URL(TEST_REDIS_URL);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  cleanups.push(() => proxy.close());
  const shared = await connectShared(proxy.via(TEST_REDIS_URL), prefix);
  const c = createRedisCounters({ shared, leaseMs, readCell: () => ({ tokens: 0, requests: 0 }), log: logTo });
  cleanups.push(async () => {
    await c.close();
    await shared.close();
  });
  return { proxy, shared, c };
}

describe.runIf(inject('redisAvailable'))('Redis quota counters: an admission whose answer was lost', () => {
  it('keeps renewing the lease it may have taken while the request runs, so a long request holds its slot and is counted once', async () => {
    const prefix = setup();
    const { proxy, shared, c } = await behindProxy(prefix, 600);
    const other = await replica(prefix, () => ({ tokens: 0, requests: 0 }), 600);
    const t = now();
    const buckets = project({ maxConcurrent: 5, rpm: 100 });
    // Windows seeded first, so the admission below is the one that reserves, not a request for seeds.
    other.settle(settlement('prj_7', (await other.admit('prj_7', buckets, 0, starts(t), t)).leaseId, 0, 'o', t));
    // Redis applies the admission; its answer never arrives (the connection resets).
    const lost = proxy.loseReplyTo(`"${shared.replicaId}:1"`);
    const err = await c.admit('prj_7', buckets, 0, starts(t), t).catch((e: unknown) => e);
    await lost;
    expect(err).toBeInstanceOf(SharedUnavailableError);
    const leaseId = (err as SharedUnavailableError).leaseId;
    // The request, admitted on local counters, runs for several lease times; other replicas keep admitting (and purging lapsed leases).
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 300));
      const o = await other.admit('prj_7', buckets, 0, starts(t), t);
      other.settle(settlement('prj_7', o.leaseId, 0, `o${i}`, t));
      // Its slot is still held while it runs.
      expect(o.counts[0]!.inFlight).toBe(2);
    }
    // It ends: the lease is found, so the request Redis already counted is not counted again.
    c.settle({ ...settlement('prj_7', leaseId, 0, 'lost', t), requests: { delta: 1, when: 'lease-missing' } });
    await new Promise((r) => setTimeout(r, 150));
    const after = await other.admit('prj_7', buckets, 0, starts(t), t);
    expect(after.counts[0]!.inFlight).toBe(1);
    // The other replica's 6, the lost-answer admission, and this one.
    expect(after.counts[0]!.windows.minute.requests).toBe(8);
  });
});

describe.runIf(inject('redisAvailable'))('Redis quota counters: an outage longer than the lease', () => {
  it('restores the slot and reservation of a request still running once Redis is back, and releases them when it ends', { timeout: 20_000 }, async () => {
    const prefix = setup();
    const { proxy, c } = await behindProxy(prefix, 600);
    const other = await replica(prefix, () => ({ tokens: 0, requests: 0 }), 600);
    const t = now();
    const buckets = project({ maxConcurrent: 5, tpd: 1_000_000 });
    const running = await c.admit('prj_10', buckets, 70, starts(t), t);
    expect(running.admitted).toBe(true);
    // Redis out of reach for more than two lease times: the lease lapses, and another replica's admission purges it.
    await proxy.cut();
    await new Promise((r) => setTimeout(r, 1500));
    const during = await other.admit('prj_10', buckets, 0, starts(t), t);
    other.settle(settlement('prj_10', during.leaseId, 0, 'during', t));
    expect(during.counts[0]!).toMatchObject({ inFlight: 1, held: 0 });
    await proxy.restore();
    // Once the replica reaches Redis again, its running request holds its slot and reservation again.
    await vi.waitFor(async () => {
      const o = await other.admit('prj_10', buckets, 0, starts(t), t);
      other.settle(settlement('prj_10', o.leaseId, 0, `o${Math.random()}`, t));
      expect(o.counts[0]!).toMatchObject({ inFlight: 2, held: 70 });
    }, { timeout: 8000, interval: 200 });
    c.settle(settlement('prj_10', running.leaseId, 50, 'running', t));
    await vi.waitFor(async () => {
      const o = await other.admit('prj_10', buckets, 0, starts(t), t);
      other.settle(settlement('prj_10', o.leaseId, 0, `e${Math.random()}`, t));
      expect(o.counts[0]!).toMatchObject({ inFlight: 1, held: 0 });
      expect(o.counts[0]!.windows.day.tokens).toBe(50);
    }, { timeout: 3000, interval: 100 });
  });
});

describe.runIf(inject('redisAvailable'))('Redis quota counters: a connection that dies without closing', () => {
  it('is replaced within seconds: admissions reach Redis again and settlements made meanwhile are applied', { timeout: 30_000 }, async () => {
    const prefix = setup();
    const { proxy, c } = await behindProxy(prefix, 15_000);
    const t = now();
    const buckets = project({ tpd: 1_000_000 });
    const first = await c.admit('prj_8', buckets, 10, starts(t), t);
    expect(first.admitted).toBe(true);
    // The path to Redis dies (no RST, no FIN); a new connection would get through.
    proxy.strand();
    c.settle(settlement('prj_8', first.leaseId, 40, 'dead', t));
    await expect(c.admit('prj_8', buckets, 10, starts(t), t)).rejects.toBeInstanceOf(SharedUnavailableError);
    const deadline = Date.now() + 8000;
    let back: Awaited<ReturnType<SharedCounters['admit']>> | null = null;
    while (!back) {
      if (Date.now() > deadline) throw new Error('admissions never reached Redis again');
      back = await c.admit('prj_8', buckets, 10, starts(t), t).catch(() => null);
      if (!back) await new Promise((r) => setTimeout(r, 200));
    }
    expect(back.admitted).toBe(true);
    await vi.waitFor(() => expect(c.pending()).toBe(0), { timeout: 3000, interval: 50 });
    const redis = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => void redis.disconnect());
    expect(await redis.hget(`${prefix}:q:{prj_8}:w:project::day:${starts(t).day}`, 'tokens')).toBe('40');
  });
});

describe.runIf(inject('redisAvailable'))('Redis quota counters: shutting down while Redis is away', () => {
  it('says how many settlements, and how many tokens, Redis never received', async () => {
    const prefix = setup();
    const lines: string[] = [];
    const { proxy, c } = await behindProxy(prefix, 15_000, createLogger('info', { write: (s: string) => void lines.push(s) }));
    const t = now();
    const buckets = project({ tpd: 1_000_000 });
    const first = await c.admit('prj_9', buckets, 10, starts(t), t);
    const second = await c.admit('prj_9', buckets, 10, starts(t), t);
    await proxy.cut();
    // One settles while Redis is away (queued), one in the same turn as the shutdown (still deferred).
    c.settle(settlement('prj_9', first.leaseId, 40, 'away-1', t));
    await vi.waitFor(() => expect(c.pending()).toBe(1), { timeout: 3000, interval: 20 });
    c.settle(settlement('prj_9', second.leaseId, 2, 'away-2', t));
    await c.close();
    const warned = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.unsharedSettlements !== undefined);
    expect(warned).toEqual([expect.objectContaining({ level: 'warn', unsharedSettlements: 2, tokens: 42 })]);
  });
});
