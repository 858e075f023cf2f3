import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadGenerateChunks } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';

const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });

describe('aborts', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('a client that disconnects mid-stream closes the upstream request and leaves a client_aborted row with the last usage seen', async () => {
    const model = 'google-reasoning-gemini3';
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    h = await startHarness({ fake: { beforeFrame: (i) => (i === 2 ? held : undefined) } });
    const { key } = await h.createKey();
    const ac = new AbortController();
    const res = await request(`${h.url}/v1beta/models/${model}:streamGenerateContent?alt=sse`, { method: 'POST', headers: { 'x-goog-api-key': key }, body, signal: ac.signal });
    let text = '';
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString();
      if ((text.match(/\r\n\r\n/g) ?? []).length >= 2) break;
    }
    ac.abort();
    const upstreamReq = h.fake.requests.at(-1)!;
    await upstreamReq.finished;
    expect(upstreamReq.closedEarly).toBe(true);
    release();
    const [row] = await h.waitForRows(1);
    const secondUsage = JSON.parse(loadGenerateChunks(model)[1]!).usageMetadata;
    expect(row).toMatchObject({ outcome: 'client_aborted', stream: 1, status: 200, total_tokens: secondUsage.totalTokenCount, output_tokens: secondUsage.candidatesTokenCount ?? 0 });
  });

  it('an upstream that dies mid-stream ends the client stream with an error frame and an upstream_aborted row', async () => {
    const model = 'google-text';
    h = await startHarness({ fake: { beforeFrame: (i) => (i === 2 ? Promise.reject(new Error('boom')) : undefined) } });
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1beta/models/${model}:streamGenerateContent?alt=sse`, { method: 'POST', headers: { 'x-goog-api-key': key }, body });
    const text = Buffer.from(await res.body.arrayBuffer()).toString();
    const frames = text.split('\r\n\r\n').filter(Boolean);
    expect(frames).toHaveLength(3);
    expect(JSON.parse(frames[2]!.slice('data: '.length))).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
    const [row] = await h.waitForRows(1);
    const second = JSON.parse(loadGenerateChunks(model)[1]!).usageMetadata;
    expect(row).toMatchObject({ outcome: 'upstream_aborted', total_tokens: second.totalTokenCount });
  });

  it('an unreachable upstream gives a Google-shaped 502 and a row', async () => {
    h = await startHarness({ env: { UPSTREAM_BASE_URL: 'http://127.0.0.1:1' } });
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': key }, body });
    expect(res.statusCode).toBe(502);
    expect(await res.body.json()).toEqual({ error: { code: 502, message: 'Upstream connection failed.', status: 'UNAVAILABLE' } });
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 502, outcome: 'upstream_aborted', total_tokens: null });
  });
});
