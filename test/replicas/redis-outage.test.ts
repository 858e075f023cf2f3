// Redis stopped for 10 s under load (a redis-server of the test's own; the shared one is never
// stopped): QUOTA_FAILURE=open keeps serving on local counters, closed answers Google's 503; no
// replica crashes, no usage row is lost, and once Redis is back the day counter equals the metered usage.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { windowStart } from '../../src/quota/windows.js';
import { startOwnRedis, type OwnRedis } from '../support/own-redis.js';
import { startReplicas, until, type Replicas } from '../support/replicas.js';

let r: Replicas | undefined;
let own: OwnRedis | undefined;
afterEach(async () => {
  await r?.close();
  await own?.close();
  r = undefined;
  own = undefined;
});

const call = (url: string, key: string) =>
  fetch(`${url}/v1beta/models/google-text:generateContent`, {
    method: 'POST',
    headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 50 } }),
  });

async function dayCounter(url: string, prefix: string, projectId: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    return Number((await redis.hget(`${prefix}:q:{${projectId}}:w:project::day:${windowStart('day', Date.now())}`, 'tokens')) ?? -1);
  } finally {
    redis.disconnect();
  }
}

describe.runIf(inject('redisAvailable'))('Redis outage under load', { timeout: 90_000 }, () => {
  it('QUOTA_FAILURE=open: serves throughout, no crash, no lost row, the day counter catches up with the metered usage', { timeout: 90_000 }, async () => {
    own = await startOwnRedis();
    r = await startReplicas(3, { redisUrl: own.url, env: { QUOTA_FAILURE: 'open' } });
    const put = await r.admin('PUT', `/admin/v1/projects/${r.projectId}/limits`, { limits: [{ tokensPerDay: 100_000_000, requestsPerMinute: 1_000_000 }] });
    expect(put.status).toBe(200);
    const statuses: number[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        const res = await call(r!.next().url, r!.key);
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, worker));
    await new Promise((x) => setTimeout(x, 1500));
    await own.stop();
    const stoppedAt = statuses.length;
    await new Promise((x) => setTimeout(x, 10_000));
    const duringOutage = statuses.length - stoppedAt;
    await own.start();
    await new Promise((x) => setTimeout(x, 2500));
    running = false;
    await load;

    expect(duringOutage).toBeGreaterThan(20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    for (const g of r.gateways) expect(g.process.exitCode).toBeNull();
    await until('a row for every request', async () => (await r!.rows()).length === statuses.length);
    const metered = (await r.rows()).reduce((n, x) => n + x.total_tokens, 0);
    expect(metered).toBeGreaterThan(0);
    await until('the shared day counter to equal the metered usage', async () => (await dayCounter(own!.url, r!.prefix, r!.projectId)) === metered, 10_000);
    // Said once, not per request.
    for (const g of r.gateways) expect(g.logs.filter((l) => String(l.msg).startsWith('shared quota counters unreachable')).length).toBeLessThanOrEqual(1);
  });

  it("QUOTA_FAILURE=closed: refuses with Google's 503 while Redis is away and serves again once it is back", async () => {
    own = await startOwnRedis();
    r = await startReplicas(1, { redisUrl: own.url, env: { QUOTA_FAILURE: 'closed' } });
    const g = r.gateways[0]!;
    // Without a limit there is nothing to decide and the request is served either way.
    expect((await call(g.url, r.key)).status).toBe(200);
    expect((await r.admin('PUT', `/admin/v1/projects/${r.projectId}/limits`, { limits: [{ requestsPerMinute: 1000 }] })).status).toBe(200);
    expect((await call(g.url, r.key)).status).toBe(200);
    const ready = () => fetch(`${g.url}/readyz`).then(async (x) => ({ status: x.status, body: (await x.json()) as { reasons?: string[] } }));
    expect((await ready()).status).toBe(200);
    await own.stop();
    const refused = await call(g.url, r.key);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
    // A balancer reading /readyz sends traffic to replicas that still reach Redis.
    await until('unready', async () => (await ready()).status === 503, 10_000);
    expect((await ready()).body.reasons).toEqual(['shared quota counters (Redis) unreachable and QUOTA_FAILURE=closed']);
    await own.start();
    await until('served again', async () => (await call(g.url, r!.key)).status === 200, 10_000);
    await until('ready again', async () => (await ready()).status === 200, 10_000);
    expect(g.process.exitCode).toBeNull();
  });
});
