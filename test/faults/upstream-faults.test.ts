// Upstream misbehaving: stalls at every stage, resets at every stage, error pages, broken SSE.
// Each case checks what the client received byte for byte, that the row was recorded with the
// right outcome (and the last usage seen), and that the gateway still serves afterwards.
import { ApiError } from '@google/genai';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RouteContext } from '../support/fake-upstream-http.js';
import { generateFrames, interactionFrames, loadGenerateChunks } from '../support/fixtures.js';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness.js';
import { rawRequest } from '../support/raw-http.js';

const STREAM = 'google-stream-no-args-tool-call';
const genBody = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });

let h: Harness | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const c of cleanups.splice(0)) await c();
});

async function start(opts: HarnessOptions = {}) {
  h = await startHarness(opts);
  const key = (await h.createKey()).key;
  const headers = { 'x-goog-api-key': key, 'content-type': 'application/json' };
  const post = (path: string, body = genBody) => rawRequest(h!.url + path, { headers, body });
  return { h, key, headers, post };
}

const never = () => new Promise<void>(() => {});
const SSE = { 'content-type': 'text/event-stream' };

/** An upstream that answers with these bytes; `end: false` leaves the response hanging open after them. */
const answer =
  (status: number, headers: Record<string, string>, body: string, { end = true } = {}) =>
  ({ res }: RouteContext): boolean => {
    res.writeHead(status, headers);
    if (end) res.end(body);
    else res.write(body);
    return true;
  };

/** Replays an SSE body verbatim and checks the client got exactly it and a row was recorded. */
async function replaySse(body: string) {
  const s = await start({ fake: { intercept: answer(200, SSE, body) } });
  const res = await s.post('/v1beta/models/google-text:streamGenerateContent?alt=sse');
  expect(res.body.toString()).toBe(body);
  const [row] = await s.h.waitForRows(1);
  expect(row).toMatchObject({ status: 200, outcome: 'ok' });
  return { ...s, row: row! };
}
const usageOf = (chunk: string) => (JSON.parse(chunk) as { usageMetadata: Record<string, number> }).usageMetadata;
/** The gateway still works after the fault (the default fixture path is untouched by the intercepts). */
async function stillServes(h: Harness, key: string) {
  const res = await h.sdk(key).models.generateContent({ model: 'google-text', contents: 'again' });
  expect(res.usageMetadata?.totalTokenCount).toBeGreaterThan(0);
}

describe('upstream timeouts', () => {
  it('a connect that never completes (TLS handshake unanswered) answers 504 in Google shape and records upstream_timeout', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => silent.close(r)), () => silent.unref());
    const sockets: net.Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    cleanups.unshift(() => sockets.forEach((s) => s.destroy()));
    const port = (silent.address() as net.AddressInfo).port;
    const { post } = await start({ env: { UPSTREAM_BASE_URL: `https://127.0.0.1:${port}`, UPSTREAM_CONNECT_TIMEOUT_MS: '300' } });
    const res = await post('/v1beta/models/google-text:generateContent');
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body.toString())).toEqual({ error: { code: 504, message: 'Upstream did not answer in time.', status: 'DEADLINE_EXCEEDED' } });
    expect(sockets.length).toBeGreaterThan(0); // it really connected and then waited
    const [row] = await h!.waitForRows(1);
    expect(row).toMatchObject({ status: 504, outcome: 'upstream_timeout', ttfb_ms: null });
  });

  it('no response headers in time → 504, the upstream request is aborted, the row says upstream_timeout', async () => {
    const { post, h, key } = await start({
      env: { UPSTREAM_HEADERS_TIMEOUT_MS: '300' },
      fake: { intercept: (ctx) => ctx.url.pathname.includes('stall') },
    });
    const res = await post('/v1beta/models/stall:generateContent');
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body.toString()).error.status).toBe('DEADLINE_EXCEEDED');
    const stalled = h.fake.requests.find((r) => r.url.includes('stall'))!;
    await stalled.finished;
    expect(stalled.closedEarly).toBe(true);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 504, outcome: 'upstream_timeout', model: 'stall' });
    await stillServes(h, key);
  });

  it('interactions get the same rpc.Status 504 (their SDKs read it) and the row names the model from the body', async () => {
    const { post, h } = await start({ env: { UPSTREAM_HEADERS_TIMEOUT_MS: '300' }, fake: { intercept: () => true } });
    const res = await post('/v1beta/interactions', JSON.stringify({ model: 'basic', input: 'hi' }));
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body.toString())).toEqual({ error: { code: 504, message: 'Upstream did not answer in time.', status: 'DEADLINE_EXCEEDED' } });
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 504, outcome: 'upstream_timeout', endpoint: 'interactions.create', model: 'basic' });
  });

  it('a generateContent stream that stalls between frames ends with a DEADLINE_EXCEEDED data frame and keeps the last usage', async () => {
    const { post, h, key } = await start({
      env: { UPSTREAM_BODY_TIMEOUT_MS: '300' },
      fake: { beforeFrame: (i) => (i === 3 ? never() : undefined) },
    });
    const res = await post(`/v1beta/models/${STREAM}:streamGenerateContent?alt=sse`);
    const frames = generateFrames(STREAM, '\r\n');
    const errorFrame = 'data: {"error":{"code":504,"message":"Upstream stream stalled.","status":"DEADLINE_EXCEEDED"}}\r\n\r\n';
    expect(res.status).toBe(200);
    expect(res.error).toBeUndefined(); // a clean end, not a broken connection
    expect(res.body.toString()).toBe(frames.slice(0, 3).join('') + errorFrame);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 200, outcome: 'upstream_timeout', stream: 1 });
    expect(JSON.parse(row!.usage_json!)).toEqual(usageOf(loadGenerateChunks(STREAM)[2]!));

    // The SDK reads the frames before the stall, then surfaces the error frame as an error.
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const c of await h.sdk(key).models.generateContentStream({ model: STREAM, contents: 'hi' })) seen.push(c);
    })().catch((e: unknown) => e);
    expect(seen).toHaveLength(3);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/DEADLINE_EXCEEDED|stalled/);
  });

  it('an interactions stream that stalls ends with its own event: error frame', async () => {
    const { post, h } = await start({ env: { UPSTREAM_BODY_TIMEOUT_MS: '300' }, fake: { beforeFrame: (i) => (i === 2 ? never() : undefined) } });
    const res = await post('/v1beta/interactions', JSON.stringify({ model: 'basic', input: 'hi', stream: true }));
    const want =
      interactionFrames('basic', '\r\n').slice(0, 2).join('') +
      'event: error\r\ndata: {"error":{"code":"gateway_timeout","message":"Upstream stream stalled."},"event_type":"error"}\r\n\r\n';
    expect(res.body.toString()).toBe(want);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ outcome: 'upstream_timeout', endpoint: 'interactions.create', model: 'basic' });
  });

  it('a stall in the middle of a frame breaks the connection rather than sending a corrupt frame', async () => {
    const half = generateFrames('google-text', '\r\n')[0]!.slice(0, 40);
    const { post, h } = await start({ env: { UPSTREAM_BODY_TIMEOUT_MS: '300' }, fake: { intercept: answer(200, SSE, half, { end: false }) } });
    const res = await post('/v1beta/models/google-text:streamGenerateContent?alt=sse');
    expect(res.error).toBeDefined();
    expect(res.body.toString()).toBe(half);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 200, outcome: 'upstream_timeout' });
  });

  it('a unary body that stalls after its headers breaks the connection (its length was promised) and records upstream_timeout', async () => {
    const { post, h } = await start({
      env: { UPSTREAM_BODY_TIMEOUT_MS: '300' },
      fake: { intercept: answer(200, { 'content-type': 'application/json', 'content-length': '1000' }, '{"candidates":', { end: false }) },
    });
    const res = await post('/v1beta/models/google-text:generateContent');
    expect(res.status).toBe(200);
    expect(res.error).toBeDefined();
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 200, outcome: 'upstream_timeout', usage_json: null });
  });
});

describe('upstream resets', () => {
  const destroy = ({ req }: RouteContext) => {
    req.socket.destroy();
    return true;
  };

  it('before headers → 502 in Google shape, row upstream_aborted, gateway still serves', async () => {
    const { post, h, key } = await start({ fake: { intercept: (ctx) => ctx.url.pathname.includes('reset') && destroy(ctx) } });
    const res = await post('/v1beta/models/reset:generateContent');
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body.toString())).toEqual({ error: { code: 502, message: 'Upstream connection failed.', status: 'UNAVAILABLE' } });
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 502, outcome: 'upstream_aborted' });
    await stillServes(h, key);
  });

  it('mid unary body → the client connection breaks, row upstream_aborted', async () => {
    const { post, h } = await start({
      fake: {
        intercept: ({ res, req }) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
          res.write('{"candidates":[', () => setImmediate(() => req.socket.destroy()));
          return true;
        },
      },
    });
    const res = await post('/v1beta/models/google-text:generateContent');
    expect(res.status).toBe(200);
    expect(res.error).toBeDefined();
    expect(res.body.toString()).toBe('{"candidates":[');
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 200, outcome: 'upstream_aborted', usage_json: null });
  });

  it('mid stream → the frames so far, then an UNAVAILABLE frame; the row keeps the last usage seen', async () => {
    const { post, h, key } = await start({ fake: { beforeFrame: (i) => (i === 5 ? Promise.reject(new Error('reset')) : undefined) } });
    const res = await post(`/v1beta/models/${STREAM}:streamGenerateContent?alt=sse`);
    expect(res.body.toString()).toBe(
      generateFrames(STREAM, '\r\n').slice(0, 5).join('') + 'data: {"error":{"code":503,"message":"Upstream stream failed.","status":"UNAVAILABLE"}}\r\n\r\n',
    );
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 200, outcome: 'upstream_aborted' });
    expect(JSON.parse(row!.usage_json!)).toEqual(usageOf(loadGenerateChunks(STREAM)[4]!));
    await stillServes(h, key);
  });
});

describe('upstream error answers pass through', () => {
  const page = '<!DOCTYPE html><html><body><h1>502. That’s an error.</h1></body></html>\n';

  it.each([
    [500, 'application/json; charset=UTF-8', '{\n  "error": {\n    "code": 500,\n    "message": "Internal error encountered.",\n    "status": "INTERNAL"\n  }\n}\n'],
    [503, 'application/json; charset=UTF-8', '{\n  "error": {\n    "code": 503,\n    "message": "The model is overloaded.",\n    "status": "UNAVAILABLE"\n  }\n}\n'],
    [502, 'text/html; charset=UTF-8', page],
  ])('%i %s reaches the client byte for byte and is recorded as upstream_error', async (status, type, body) => {
    const reply = answer(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) }, body);
    const { post, h, key } = await start({ fake: { intercept: (ctx) => ctx.url.pathname.includes('broken') && reply(ctx) } });
    const res = await post('/v1beta/models/broken:generateContent');
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe(type);
    expect(res.body.toString()).toBe(body);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status, outcome: 'upstream_error', usage_json: null });
    const err = await h.sdk(key).models.generateContent({ model: 'broken', contents: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(status);
  });
});

describe('broken SSE from upstream', () => {
  it('a malformed frame and a bare JSON line pass through untouched; the final usage is still metered and the lines counted', async () => {
    const chunks = loadGenerateChunks('google-text');
    const body = [
      `data: ${chunks[0]}\r\n\r\n`,
      'data: {"candidates": [ this is not json\r\n\r\n',
      `${chunks[1]}\r\n\r\n`, // the known upstream bug: no data: prefix
      ': a comment line\r\n\r\n',
      `data: ${chunks[2]}\r\n\r\n`,
    ].join('');
    const { h, key, row } = await replaySse(body);
    expect(JSON.parse(row.usage_json!)).toEqual(usageOf(chunks[2]!));
    expect(h.logs.some((l) => l.includes('"bareJsonLines":1'))).toBe(true);
    h.fake.requests.length = 0;
    await h.sdk(key).models.countTokens({ model: 'gemini-2.5-flash', contents: 'still up' }).catch(() => null);
    expect(h.fake.requests).toHaveLength(1);
  });

  it('a stream whose last usage frame is corrupt is recorded with the usage before it, never crashing the meter', async () => {
    const chunks = loadGenerateChunks('google-text');
    const body = `data: ${chunks[0]}\r\n\r\ndata: ${chunks[1]!.slice(0, -20)}\r\n\r\n`;
    const { row } = await replaySse(body);
    expect(JSON.parse(row.usage_json!)).toEqual(usageOf(chunks[0]!));
  });
});

describe('answers larger than the gateway keeps whole', () => {
  it('a generateContent answer over MAX_JSON_BODY_BYTES (an inline image) still records its usage, read from the end of the body', async () => {
    const usageMetadata = { promptTokenCount: 12, candidatesTokenCount: 1290, totalTokenCount: 1302, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 12 }] };
    const answer = {
      candidates: [{ content: { role: 'model', parts: [{ text: 'a caption quoting "usageMetadata": {"totalTokenCount": 1}' }, { inlineData: { mimeType: 'image/png', data: 'iVBO'.repeat(100_000) } }] }, finishReason: 'STOP' }],
      usageMetadata,
      modelVersion: 'gemini-2.5-flash-image',
      responseId: 'big-answer',
    };
    const text = JSON.stringify(answer, null, 2); // Google pretty-prints its JSON
    const { post, h } = await start({
      env: { MAX_JSON_BODY_BYTES: String(128 * 1024) },
      fake: {
        intercept: ({ res }) => {
          res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
          // Many writes, so the body reaches the gateway in many chunks.
          for (let i = 0; i < text.length; i += 16 * 1024) res.write(text.slice(i, i + 16 * 1024));
          res.end();
          return true;
        },
      },
    });
    const res = await post('/v1beta/models/gemini-2.5-flash-image:generateContent');
    expect(res.body.toString()).toBe(text);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 200, outcome: 'ok', prompt_tokens: 12, output_tokens: 1290, total_tokens: 1302 });
    expect(JSON.parse(row!.usage_json!)).toEqual(usageMetadata);
  });
  it('an Imagen answer over MAX_JSON_BODY_BYTES still records its images, counted as the body passes', async () => {
    const predictions = Array.from({ length: 3 }, () => ({ mimeType: 'image/png', bytesBase64Encoded: 'iVBO'.repeat(60_000) }));
    const text = JSON.stringify({ predictions });
    const { post, h } = await start({
      env: { MAX_JSON_BODY_BYTES: String(128 * 1024) },
      fake: {
        intercept: ({ res }) => {
          res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
          for (let i = 0; i < text.length; i += 10_007) res.write(text.slice(i, i + 10_007));
          res.end();
          return true;
        },
      },
    });
    const res = await post('/v1beta/models/imagen-4.0-generate-001:predict', JSON.stringify({ instances: [{ prompt: 'a cat' }], parameters: { sampleCount: 3 } }));
    expect(res.body.toString()).toBe(text);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ endpoint: 'predict', status: 200, outcome: 'ok', images: 3 });
  });
});
