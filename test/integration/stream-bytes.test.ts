import { request } from 'undici';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { finalGenerateUsage, finalInteractionUsage, framedGenerate, framedGenerateArray, framedInteraction, generateUnaryText, jsonArrayFrames, loadGenerateChunks } from '../support/fixtures.js';
import { rawRequest } from '../support/raw-http.js';
import { startHarness, UPSTREAM_KEY, type Harness } from '../support/harness.js';
import { JSON_TYPE, zstdFrame } from '../support/fake-upstream-http.js';

const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });

describe('bytes through the gateway', () => {
  let h: Harness;
  afterEach(async () => h.close());

  for (const eol of ['\r\n', '\n'] as const) {
    it(`streams SSE bytes unchanged with ${JSON.stringify(eol)} framing split at odd offsets`, async () => {
      h = await startHarness({ fake: { eol, splitSeed: 7 } });
      const { key } = await h.createKey();
      for (const model of ['google-text', 'google-reasoning-gemini3', 'google-vertex-stream-tool-call-arguments-nested.1']) {
        const res = await request(`${h.url}/v1beta/models/${model}:streamGenerateContent?alt=sse`, { method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        expect(Buffer.from(await res.body.arrayBuffer()).equals(framedGenerate(model, eol))).toBe(true);
      }
      const rows = await h.waitForRows(3);
      expect(rows.map((r) => r.total_tokens)).toEqual(['google-text', 'google-reasoning-gemini3', 'google-vertex-stream-tool-call-arguments-nested.1'].map((m) => finalGenerateUsage(m, true).totalTokenCount));
    });
  }

  it('streams interactions SSE (event + data framing, [DONE]) unchanged and meters interaction.completed', async () => {
    h = await startHarness({ fake: { eol: '\r\n', splitSeed: 3 } });
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1beta/interactions`, { method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'google-search', input: 'x', stream: true }) });
    expect(Buffer.from(await res.body.arrayBuffer()).equals(framedInteraction('google-search', '\r\n'))).toBe(true);
    const [row] = await h.waitForRows(1);
    expect(row!.total_tokens).toBe(finalInteractionUsage('google-search', true).total_tokens);
  });

  it('delivers the first frame before upstream has written the second', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let secondWritten = false;
    h = await startHarness({
      fake: {
        beforeFrame: async (i) => {
          if (i === 1) {
            await held;
            secondWritten = true;
          }
        },
      },
    });
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1beta/models/google-text:streamGenerateContent?alt=sse`, { method: 'POST', headers: { 'x-goog-api-key': key }, body });
    const reader = res.body[Symbol.asyncIterator]();
    let got = Buffer.alloc(0);
    const first = framedGenerate('google-text', '\r\n').indexOf('\r\n\r\n') + 4;
    while (got.length < first) got = Buffer.concat([got, (await reader.next()).value as Buffer]);
    expect(secondWritten).toBe(false);
    expect(got.subarray(0, first).toString()).toMatch(/^data: \{.*\}\r\n\r\n$/s);
    release();
    for (let r = await reader.next(); !r.done; r = await reader.next()) got = Buffer.concat([got, r.value as Buffer]);
    expect(got.equals(framedGenerate('google-text', '\r\n'))).toBe(true);
  });

  it('passes streamGenerateContent without alt=sse (a progressive JSON array) and meters its last element', async () => {
    h = await startHarness();
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1/models/google-reasoning:streamGenerateContent`, { method: 'POST', headers: { 'x-goog-api-key': key }, body });
    expect(Buffer.from(await res.body.arrayBuffer()).equals(framedGenerateArray('google-reasoning'))).toBe(true);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ endpoint: 'streamGenerateContent', stream: 1, api_version: 'v1', total_tokens: finalGenerateUsage('google-reasoning', true).totalTokenCount });
  });

  // google-reasoning's usage is cumulative: element 1 already reports 294 of the final 294 tokens.
  const cutArray = { beforeFrame: (i: number) => (i === 2 ? Promise.reject(new Error('reset')) : undefined) };
  const secondUsage = () => JSON.parse(loadGenerateChunks('google-reasoning')[1]!).usageMetadata;

  it('bills the last usage seen when a JSON-array stream (no alt=sse) is cut by an upstream reset', async () => {
    h = await startHarness({ fake: cutArray });
    const { key } = await h.createKey();
    const res = await rawRequest(`${h.url}/v1beta/models/google-reasoning:streamGenerateContent`, { headers: { 'x-goog-api-key': key }, body });
    expect(res.error).toBeDefined();
    expect(res.body.toString()).toBe(jsonArrayFrames(loadGenerateChunks('google-reasoning')).slice(0, 2).join(''));
    const rows = await h.waitForRows(1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 200, outcome: 'upstream_aborted', total_tokens: secondUsage().totalTokenCount });
    expect(JSON.parse(rows[0]!.usage_json!)).toEqual(secondUsage());
  });

  it('bills the last usage seen, once, when the client leaves a JSON-array stream (no alt=sse) mid-way', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h = await startHarness({ fake: { beforeFrame: (i) => (i === 2 ? gate : undefined) } });
    const { key } = await h.createKey();
    const expected = jsonArrayFrames(loadGenerateChunks('google-reasoning')).slice(0, 2).join('');
    try {
      const res = await rawRequest(`${h.url}/v1beta/models/google-reasoning:streamGenerateContent`, {
        headers: { 'x-goog-api-key': key },
        body,
        onResponse: (req, r) => {
          let seen = '';
          r.on('data', (c: Buffer) => {
            seen += c.toString();
            if (seen.length >= expected.length) req.destroy();
          });
        },
      });
      expect(res.error).toBeDefined();
      const rows = await h.waitForRows(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(await h.rows()).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 200, outcome: 'client_aborted', total_tokens: secondUsage().totalTokenCount });
    } finally {
      release();
    }
  });

  it('keeps gzip-encoded unary bodies byte-identical while metering the decompressed copy', async () => {
    h = await startHarness({ fake: { gzipUnary: true } });
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': key, 'accept-encoding': 'gzip' }, body });
    expect(res.headers['content-encoding']).toBe('gzip');
    const raw = Buffer.from(await res.body.arrayBuffer());
    expect(Number(res.headers['content-length'])).toBe(raw.length);
    expect(gunzipSync(raw).toString()).toBe(generateUnaryText('google-text'));
    const [row] = await h.waitForRows(1);
    expect(row!.total_tokens).toBe(finalGenerateUsage('google-text', false).totalTokenCount);
  });

  it('never asks upstream for zstd, which it could not meter: a client offering zstd, gzip gets gzip, metered', async () => {
    // The fake prefers zstd whenever it is offered.
    h = await startHarness({ fake: { zstdUnary: true, gzipUnary: true } });
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': key, 'accept-encoding': 'zstd, gzip;q=0.8' }, body });
    expect(h.fake.requests.at(-1)!.headers['accept-encoding']).toBe('gzip;q=0.8');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString()).toBe(generateUnaryText('google-text'));
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ outcome: 'ok', total_tokens: finalGenerateUsage('google-text', false).totalTokenCount });
  });

  it('passes an answer in an encoding it cannot decode through unchanged, records it without usage and warns once', async () => {
    // An upstream that answers zstd although it was not offered.
    const zstd = zstdFrame(Buffer.from(generateUnaryText('google-text')));
    h = await startHarness({
      fake: {
        intercept: ({ res, rec }) => {
          rec.status = 200;
          res.writeHead(200, { 'content-type': JSON_TYPE, 'content-encoding': 'zstd', 'content-length': String(zstd.length) }).end(zstd);
          return true;
        },
      },
    });
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': key }, body });
    expect(res.headers['content-encoding']).toBe('zstd');
    expect(Buffer.from(await res.body.arrayBuffer()).equals(zstd)).toBe(true);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ outcome: 'ok', status: 200, total_tokens: null, usage_json: null });
    const warnings = h.logs.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn');
    expect(warnings).toEqual([expect.objectContaining({ requestId: row!.request_id, endpoint: 'generateContent', contentEncoding: 'zstd', msg: expect.stringMatching(/cannot decode/) })]);
  });

  it('forwards method, path, query and headers as sent, with only the key swapped', async () => {
    h = await startHarness();
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1alpha/models/google-text:generateContent?key=${key}&alt=json&x=a%2Fb`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-revision': '2026-05-20', 'x-server-timeout': '30', 'x-goog-upload-protocol': 'resumable', cookie: '', 'x-goog-api-client': 'test/1' },
      body,
    });
    expect(res.statusCode).toBe(200);
    await res.body.arrayBuffer();
    const seen = h.fake.requests.at(-1)!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/v1alpha/models/google-text:generateContent?alt=json&x=a%2Fb');
    expect(seen.headers).toMatchObject({ 'x-goog-api-key': UPSTREAM_KEY, 'api-revision': '2026-05-20', 'x-server-timeout': '30', 'x-goog-upload-protocol': 'resumable', 'x-goog-api-client': 'test/1', 'content-type': 'application/json' });
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.body.toString()).toBe(body);
  });

  it('accepts the tenant key as Authorization: Bearer and strips it', async () => {
    h = await startHarness();
    const { key } = await h.createKey();
    const res = await request(`${h.url}/v1beta/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.statusCode).toBe(200);
    await res.body.arrayBuffer();
    expect(h.fake.requests.at(-1)!.headers.authorization).toBeUndefined();
    const [row] = await h.waitForRows(1);
    expect(row!.endpoint).toBe('models');
  });
});
