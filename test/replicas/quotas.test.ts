// Three real gateway processes on one database and one Redis, traffic spread round-robin: limits
// hold across them exactly as they hold in one process.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { estimateTokens } from '../../src/quota/estimate.js';
import { loadGenerateChunks } from '../support/fixtures.js';
import { latch } from '../support/quota.js';
import { clearOfMinuteBoundary, startReplicas, until, type Replicas } from '../support/replicas.js';

const body = (maxOutputTokens?: number) =>
  JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], ...(maxOutputTokens === undefined ? {} : { generationConfig: { maxOutputTokens } }) });
const CUMULATIVE = loadGenerateChunks('google-text').map((l) => JSON.parse(l).usageMetadata.totalTokenCount as number);
const STREAM_TOTAL = CUMULATIVE.at(-1)!;

let r: Replicas | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

function call(url: string, key: string, { stream = false, maxOutputTokens }: { stream?: boolean; maxOutputTokens?: number } = {}) {
  const path = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  return fetch(`${url}/v1beta/models/google-text:${path}`, { method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: body(maxOutputTokens) });
}

/** Sets the project's limits through replica 1, and waits until every replica enforces them. */
async function limits(policy: { limits: unknown[] }) {
  const res = await r!.admin('PUT', `/admin/v1/projects/${r!.projectId}/limits`, policy);
  expect(res.status).toBe(200);
  // A replica reloads its policies on the change feed: a request sent to it before then is judged on
  // the old ones (none here), takes no shared lease, and would make any count below off by one.
  const seen = (g: { url: string }) => fetch(`${g.url}/gateway/v1/quota`, { headers: { 'x-goog-api-key': r!.key } })
    .then((x) => x.json() as Promise<{ limits: unknown[] }>)
    .then((q) => q.limits.length === policy.limits.length);
  await until('every replica enforces the new limits', async () => (await Promise.all(r!.gateways.map(seen))).every(Boolean));
}

describe.runIf(inject('redisAvailable'))('quotas across 3 replicas', { timeout: 90_000 }, () => {
  it('requests per minute 30: exactly 30 of 90 round-robin requests are admitted', async () => {
    r = await startReplicas(3);
    await limits({ limits: [{ requestsPerMinute: 30 }] });
    await clearOfMinuteBoundary(15);
    const statuses: number[] = [];
    for (let wave = 0; wave < 9; wave++) {
      const res = await Promise.all(Array.from({ length: 10 }, () => call(r!.next().url, r!.key)));
      for (const x of res) {
        statuses.push(x.status);
        await x.arrayBuffer();
      }
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(60);
    // Every replica refused some: none of them enforced 30 on its own traffic.
    await until('90 usage rows', async () => (await r!.rows()).length === 90);
  });

  it('an admitted request\'s RateLimit header counts what every replica admitted, not only its own replica', async () => {
    r = await startReplicas(3);
    await limits({ limits: [{ requestsPerMinute: 30 }] });
    await clearOfMinuteBoundary(15);
    for (let i = 0; i < 4; i++) {
      const res = await call(r.gateways[0]!.url, r.key);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const fifth = await call(r.gateways[1]!.url, r.key);
    expect(fifth.status).toBe(200);
    await fifth.arrayBuffer();
    // Replica 2's own counters saw one request (r=29): the header is judged on the shared counts.
    expect(fifth.headers.get('ratelimit')).toMatch(/^"rpm";r=25;t=\d+$/);
  });

  it('max_concurrent 5: never more than 5 in flight across the replicas, and capacity returns after they finish', async () => {
    const gate = latch();
    let inflight = 0;
    let peak = 0;
    r = await startReplicas(3, {
      fake: {
        beforeFrame: (i) => {
          if (i !== 0) return undefined;
          peak = Math.max(peak, ++inflight);
          return gate.wait.then(() => void inflight--);
        },
      },
    });
    await limits({ limits: [{ maxConcurrent: 5 }] });
    const started = Array.from({ length: 24 }, () => call(r!.next().url, r!.key, { stream: true }));
    const responses = await Promise.all(started);
    expect(responses.filter((x) => x.status === 200)).toHaveLength(5);
    expect(responses.filter((x) => x.status === 429)).toHaveLength(19);
    expect(peak).toBe(5);
    gate.open();
    await Promise.all(responses.map((x) => x.arrayBuffer()));
    const again = await Promise.all(Array.from({ length: 5 }, () => call(r!.next().url, r!.key, { stream: true })));
    expect(again.map((x) => x.status)).toEqual([200, 200, 200, 200, 200]);
    await Promise.all(again.map((x) => x.arrayBuffer()));
  });
});

describe.runIf(inject('redisAvailable'))('token budgets and dead replicas across 3 replicas', { timeout: 90_000 }, () => {
  const reserveFor = (maxOutputTokens: number) =>
    estimateTokens('streamGenerateContent', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens } }, 0, 4096);

  it('60 concurrent streams against a token budget: admitted as reservations fit, metered usage within the documented bound', async () => {
    const gate = latch();
    r = await startReplicas(3, { fake: { beforeFrame: (i) => (i === 0 ? gate.wait : undefined) } });
    const B = 2000;
    await limits({ limits: [{ tokensPerDay: B }] });
    const responses = await Promise.all(Array.from({ length: 60 }, () => call(r!.next().url, r!.key, { stream: true, maxOutputTokens: 250 })));
    gate.open();
    await Promise.all(responses.map((x) => x.arrayBuffer()));
    const admitted = responses.filter((x) => x.status === 200).length;
    // Reservations cover the output (reserve ≥ actual), so the bound B + Σ max(0, actual − reserved) is B itself.
    expect(reserveFor(250)).toBeGreaterThanOrEqual(STREAM_TOTAL);
    expect(admitted).toBe(Math.floor(B / reserveFor(250)));
    await until('60 usage rows', async () => (await r!.rows()).length === 60);
    const metered = (await r!.rows()).reduce((n, x) => n + x.total_tokens, 0);
    expect(metered).toBe(admitted * STREAM_TOTAL);
    expect(metered).toBeLessThanOrEqual(B);
  });

  it('SIGKILL of a replica holding 10 in-flight reservations: capacity returns within the lease, no 429 storm, no row of the others lost', async () => {
    const gate = latch();
    const LEASE_MS = 3000;
    r = await startReplicas(3, { env: { QUOTA_LEASE_MS: String(LEASE_MS) }, fake: { beforeFrame: (i, rec) => (i === 0 && rec.url.includes('stream') ? gate.wait : undefined) } });
    await limits({ limits: [{ maxConcurrent: 10 }] });
    const [one, two, three] = r.gateways as [typeof r.gateways[0], typeof r.gateways[0], typeof r.gateways[0]];
    const held = Array.from({ length: 10 }, () => call(three.url, r!.key, { stream: true }).catch(() => null));
    await until('10 streams held upstream', () => r!.fake.requests.filter((x) => x.url.includes('stream')).length === 10);
    expect((await call(one.url, r.key)).status).toBe(429);
    three.process.kill('SIGKILL');
    const killedAt = Date.now();
    await three.exited;
    let sent = 1;
    for (;;) {
      const res = await call([one, two][sent % 2]!.url, r.key);
      sent++;
      await res.arrayBuffer();
      if (res.status === 200) break;
      expect(Date.now() - killedAt).toBeLessThan(LEASE_MS + 1500);
      await new Promise((x) => setTimeout(x, 100));
    }
    const returnedAfter = Date.now() - killedAt;
    expect(returnedAfter).toBeLessThan(LEASE_MS + 1500);
    // Each dead lease lapses LEASE_MS after its own last renewal, so the first 200 can come a little before the
    // last of them has: once the lease time has passed since the kill, the whole capacity is back at once.
    await new Promise((x) => setTimeout(x, Math.max(0, killedAt + LEASE_MS + 200 - Date.now())));
    // 10 concurrent requests, all admitted.
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => call([one, two][i % 2]!.url, r!.key)));
    expect(burst.map((x) => x.status)).toEqual(Array(10).fill(200));
    await Promise.all(burst.map((x) => x.arrayBuffer()));
    gate.open();
    await Promise.all(held);
    // Every request replicas 1 and 2 answered has its row (the killed one's unflushed rows may be gone).
    await until('a row for each of the surviving replicas\' answers', async () => (await r!.rows()).length >= sent + 10);
    expect((await r.rows()).filter((x) => x.status === 200)).toHaveLength(11);
    expect((await r.rows()).filter((x) => x.status === 429)).toHaveLength(sent - 1);
  });
});
