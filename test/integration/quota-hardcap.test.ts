import { afterEach, describe, expect, it, vi } from 'vitest';
import { framedGenerate, framedInteraction, loadGenerateChunks } from '../support/fixtures.js';
import { directSdk, startHarness, type Harness } from '../support/harness.js';
import { ADMIN_ENV, generate, quota, setLimits, testClock } from '../support/quota.js';

let h: Harness;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
});

async function capped(tokensPerDay: number) {
  h = await startHarness({ env: ADMIN_ENV, clock: testClock('2026-05-10T12:00:30Z') });
  const key = await h.createKey('acme', 'web');
  await setLimits(h, await h.projectOf(key.id), { hardCap: true, limits: [{ tokensPerDay: tokensPerDay }] });
  return key;
}

const interactionStream = (key: string) =>
  fetch(`${h.url}/v1beta/interactions`, {
    method: 'POST',
    headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'google-search', input: 'hi', stream: true, generation_config: { max_output_tokens: 10 } }),
  });

describe('hard cap', () => {
  it('forwards streams byte for byte while the budget holds', async () => {
    const key = await capped(1_000_000);
    for (const model of ['google-text', 'google-vertex-stream-tool-call-arguments-nested.1']) {
      const res = await generate(h, key.key, { model, stream: true });
      expect(Buffer.from(await res.arrayBuffer()).equals(framedGenerate(model, '\r\n'))).toBe(true);
    }
    const res = await interactionStream(key.key);
    expect(Buffer.from(await res.arrayBuffer()).equals(framedInteraction('google-search', '\r\n'))).toBe(true);
    // The SDK sees exactly what it would see without the gateway.
    const collect = async (ai: ReturnType<typeof directSdk>) => {
      const out = [];
      for await (const c of await ai.models.generateContentStream({ model: 'google-text', contents: 'hi' })) out.push(c.candidates);
      return out;
    };
    expect(await collect(h.sdk(key.key))).toEqual(await collect(directSdk(h.fake)));
    // Through the gateway (the last request came from the direct client), upstream was asked not to compress.
    expect(h.fake.requests.slice(0, -1).map((r) => r.headers['accept-encoding'])).toEqual(Array(4).fill('identity'));
  });

  it('ends an interactions stream with `event: error` and code resource_exhausted, and records the cut', async () => {
    const key = await capped(1000);
    const body = await (await interactionStream(key.key)).text();
    const frames = body.split('\r\n\r\n').filter((f) => f !== '');
    const last = frames.at(-1)!;
    expect(last.split('\r\n')[0]).toBe('event: error');
    const data = JSON.parse(last.split('\r\n')[1]!.slice('data: '.length));
    expect(data).toMatchObject({ error: { code: 'resource_exhausted' }, event_type: 'error' });
    expect(data.error.message).toMatch(/hard cap.*tokens_per_day limit of 1000/);
    expect(frames.some((f) => f.startsWith('event: done'))).toBe(false);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ outcome: 'quota_cut', status: 200, total_tokens: 1983 });
    expect((await quota(h, key.key)).inFlight).toEqual({ requests: 0, reservedTokens: 0 });
  });

  it('parses one usage frame per stream by default, and every usage frame only under the hard cap', async () => {
    const usageParses = () => {
      const spy = vi.spyOn(JSON, 'parse');
      return () => spy.mock.calls.filter(([text]) => typeof text === 'string' && text.includes('usageMetadata')).length;
    };
    h = await startHarness({ env: ADMIN_ENV });
    const plain = await h.createKey('acme', 'plain');
    const count = usageParses();
    await (await generate(h, plain.key, { stream: true })).arrayBuffer();
    await h.waitForRows(1);
    expect(count()).toBe(1);
    vi.restoreAllMocks();

    const key = await h.createKey('acme', 'capped');
    await setLimits(h, await h.projectOf(key.id), { hardCap: true, limits: [{ tokensPerDay: 1_000_000 }] });
    const countCapped = usageParses();
    await (await generate(h, key.key, { stream: true })).arrayBuffer();
    await h.waitForRows(2);
    expect(countCapped()).toBe(1 + loadGenerateChunks('google-text').length);
  });
});
