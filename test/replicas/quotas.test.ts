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

async function limits(policy: unknown) {
  const res = await r!.admin('PUT', `/admin/v1/projects/${r!.projectId}/limits`, policy);
  expect(res.status).toBe(200);
}

describe.runIf(inject('redisAvailable'))('quotas across 3 replicas', () => {
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
    await until('90 usage rows', () => r!.rows().length === 90);
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
