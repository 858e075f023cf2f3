// The last word on secrets: a run of many request kinds — success, streams, refusals, hostile
// input, admin calls, upstream failures and an upstream that echoes its key — after which no tenant
// key, upstream key or admin token may appear in any log line, response header or response body
// (the harness checks every byte written to clients and every log line on close).
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startHarness, UPSTREAM_KEY, type Harness } from '../support/harness.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { rawExchange, rawRequest } from '../support/raw-http.js';

const ADMIN_TOKEN = 'admin-token-secret-for-the-secrets-run';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('no secret leaks', () => {
  it('across a run of many request kinds: none in logs, response headers or bodies; echoed keys are scrubbed', async () => {
    h = await startHarness({
      env: { ADMIN_TOKEN, UPSTREAM_HEADERS_TIMEOUT_MS: '300', MAX_JSON_BODY_BYTES: '4096' },
      fake: {
        intercept: ({ url, req, res }) => {
          const got = String(req.headers['x-goog-api-key']);
          if (url.pathname.includes('echo')) {
            // An upstream that quotes the credential and a URL carrying it, in body and header.
            const body = JSON.stringify({ error: { code: 400, message: `API key ${got} rejected for https://generativelanguage.googleapis.com${url.pathname}?key=${got}`, status: 'INVALID_ARGUMENT' } });
            res.writeHead(400, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-debug-url': `https://upstream.example/v1beta?alt=sse&key=${got}` });
            res.end(body);
            return true;
          }
          if (url.pathname.includes('stall')) return true;
          if (url.pathname.includes('reset')) return void req.socket.destroy(), true;
          return false;
        },
      },
    });
    const tenant = await h.createKey('acme', 'web');
    const other = await h.createKey('globex', 'api');
    const key = tenant.key;
    const sdk = h.sdk(key);
    const json = { 'content-type': 'application/json' };
    const call = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
      rawRequest(h!.url + path, { method: init.method ?? 'POST', headers: { ...json, ...init.headers }, body: init.body ?? '{}' });

    // Success paths, every key carrier.
    await sdk.models.generateContent({ model: 'google-text', contents: 'hi' });
    for await (const _ of await sdk.models.generateContentStream({ model: 'google-text', contents: 'hi' }));
    await sdk.models.countTokens({ model: 'gemini-2.5-flash', contents: 'hi' });
    await sdk.models.embedContent({ model: 'gemini-embedding-001', contents: ['a'] });
    await sdk.interactions.create({ model: 'basic', input: 'hi' });
    for await (const _ of await sdk.interactions.create({ model: 'basic', input: 'hi', stream: true }));
    await h.sdk(other.key).models.list();
    await call(`/v1beta/models/google-text:generateContent?key=${encodeURIComponent(key)}&alt=json`);
    await call('/v1beta/models/google-text:streamGenerateContent?alt=sse', { headers: { authorization: `Bearer ${key}` } });

    // Refusals.
    await call('/v1beta/models/google-text:generateContent', { headers: { 'x-goog-api-key': `${key}x` } });
    await call(`/v1beta/models?key=${key}`, { method: 'GET', headers: { 'x-goog-api-key': other.key } });
    await call('/v1beta/models/google-text:generateContent', { headers: { 'x-goog-api-key': key }, body: 'x'.repeat(5000) });
    await call('/v1beta/interactions', { headers: { 'x-goog-api-key': key }, body: '{"model":' });
    await call('/v1beta/../admin/v1/keys', { method: 'GET', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const port = Number(new URL(h.url).port);
    await rawExchange(port, `GET /v1beta/models HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\nx-bad: a\rb\r\n\r\n`);
    await rawExchange(port, `GET /v1beta/models?key=${key} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);

    // Upstream failures, and an upstream that echoes the key.
    expect((await call('/v1beta/models/stall:generateContent', { headers: { 'x-goog-api-key': key } })).status).toBe(504);
    expect((await call('/v1beta/models/reset:generateContent', { headers: { 'x-goog-api-key': key } })).status).toBe(502);
    const echoed = await call(`/v1beta/models/echo:generateContent?key=${key}`);
    expect(echoed.status).toBe(400);
    expect(echoed.body.toString()).toContain('API key [redacted] rejected');
    expect(echoed.body.toString()).toContain('?key=[redacted]');
    expect(echoed.headers['x-debug-url']).toBe('https://upstream.example/v1beta?alt=sse&key=[redacted]');
    expect(Number(echoed.headers['content-length'])).toBe(echoed.body.length);

    // Admin API, right and wrong token.
    await call('/admin/v1/openapi.json', { method: 'GET' });
    await call('/admin/v1/nothing-here', { method: 'GET', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await call('/admin/v1/nothing-here', { method: 'GET', headers: { authorization: `Bearer ${key}` } });
    await call('/healthz', { method: 'GET' });

    // Nothing logged a key= parameter or a key-shaped value.
    expect(await h.waitForRows(14)).toHaveLength(14);
    expect(h.logs.filter((l) => /[?&]key=(?!\[redacted\])/.test(l))).toEqual([]);
    expect(h.logs.filter((l) => /AIza[0-9A-Za-z_-]{20,}|ggw_[A-Za-z0-9_-]{20,}/.test(l))).toEqual([]);
    // The upstream never saw a tenant key or admin token (the fake polices it), and close() checks logs and responses.
    expect(h.fake.violations).toEqual([]);
    const harness = h;
    h = undefined;
    await harness.close();
  });

  it('the logger scrubs known secrets, key-shaped values and key= parameters from every line', () => {
    const lines: string[] = [];
    const log = createLogger('info', { write: (s: string) => void lines.push(s) }, [UPSTREAM_KEY, ADMIN_TOKEN]);
    const tenantKey = `ggw_${'k'.repeat(43)}`;
    log.info({ url: `/v1beta/models/x:generateContent?alt=sse&key=${tenantKey}` }, 'request');
    log.error({ err: `upstream said: key ${UPSTREAM_KEY} invalid at https://h/v1?key=zzz-secret` }, 'upstream failure');
    log.warn(`token was ${ADMIN_TOKEN} and ${JSON.stringify({ nested: `AIzaSy${'Q'.repeat(33)}` })}`);
    const all = lines.join('');
    for (const s of [tenantKey, UPSTREAM_KEY, ADMIN_TOKEN, 'zzz-secret', `AIzaSy${'Q'.repeat(33)}`]) expect(all).not.toContain(s);
    expect(all).toContain('key=[redacted]');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });

  it('a collector password in the OTLP endpoint is used for export but never logged', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const password = `otlp-${randomBytes(12).toString('hex')}`;
      const endpoint = receiver.url.replace('http://', `http://collector:${password}@`);
      h = await startHarness({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } });
      await h.sdk((await h.createKey()).key).models.generateContent({ model: 'google-text', contents: 'hi' });
      await h.waitForRows(1);
      const logs = h.logs;
      await h.close();
      h = undefined;
      expect(receiver.spans().length).toBeGreaterThan(0);
      expect(receiver.authorizations).toContain(`Basic ${Buffer.from(`collector:${password}`).toString('base64')}`);
      const started = logs.find((l) => l.includes('OpenTelemetry export on'));
      expect(started).toContain(receiver.url.replace('http://', 'http://***@'));
      for (const line of logs) expect(line).not.toContain(password);
    } finally {
      await receiver.close();
    }
  });

  it('an error that echoes the key is scrubbed when upstream compressed it too', async () => {
    h = await startHarness({
      fake: {
        intercept: ({ req, res }) => {
          const got = String(req.headers['x-goog-api-key']);
          const body = gzipSync(JSON.stringify({ error: { code: 400, message: `API key ${got} not valid. Please pass a valid API key.`, status: 'INVALID_ARGUMENT' } }));
          res.writeHead(400, { 'content-type': 'application/json; charset=UTF-8', 'content-encoding': 'gzip', 'content-length': String(body.length) });
          res.end(body);
          return true;
        },
      },
    });
    const key = (await h.createKey()).key;
    const res = await rawRequest(`${h.url}/v1beta/models/google-text:generateContent`, { headers: { 'x-goog-api-key': key, 'accept-encoding': 'gzip' }, body: '{}' });
    expect(res.status).toBe(400);
    const text = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.body) : res.body).toString();
    expect(text).not.toContain(UPSTREAM_KEY);
    expect(JSON.parse(text)).toEqual({ error: { code: 400, message: 'API key [redacted] not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT' } });
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
  });

  it('an error body of any size is searched: past 64 KiB still scrubbed (a key split between chunks too), past 1 MiB replaced by a 502', async () => {
    const sizes = new Map<string, number>();
    h = await startHarness({
      fake: {
        intercept: ({ req, res }) => {
          const got = String(req.headers['x-goog-api-key']);
          const size = sizes.get(String(req.headers['x-test-size'])) ?? 0;
          const declared = req.headers['x-test-declared'] === '1';
          // Padding, then the key cut in two writes, then more padding: no single chunk holds it whole.
          const head = Buffer.from(`{"error":{"code":400,"message":"${'x'.repeat(size)} key `);
          const tail = Buffer.from(` is not valid${'y'.repeat(1000)}","status":"INVALID_ARGUMENT"}}`);
          const total = head.length + Buffer.byteLength(got) + tail.length;
          res.writeHead(400, { 'content-type': 'application/json; charset=UTF-8', ...(declared ? { 'content-length': String(total) } : {}) });
          res.write(Buffer.concat([head, Buffer.from(got.slice(0, 10))]));
          setTimeout(() => res.end(Buffer.concat([Buffer.from(got.slice(10)), tail])), 20);
          return true;
        },
      },
    });
    sizes.set('medium', 200 * 1024).set('huge', 2 * 1024 * 1024);
    const key = (await h.createKey()).key;
    const ask = (size: string, declared = false) =>
      rawRequest(`${h!.url}/v1beta/models/google-text:generateContent`, { headers: { 'x-goog-api-key': key, 'x-test-size': size, ...(declared ? { 'x-test-declared': '1' } : {}) }, body: '{}' });

    for (const declared of [false, true]) {
      const medium = await ask('medium', declared);
      expect(medium.status).toBe(400);
      const text = medium.body.toString();
      expect(text).not.toContain(UPSTREAM_KEY);
      expect(JSON.parse(text).error.message).toBe(`${'x'.repeat(200 * 1024)} key [redacted] is not valid${'y'.repeat(1000)}`);

      const huge = await ask('huge', declared);
      expect(huge.status).toBe(502);
      expect(JSON.parse(huge.body.toString()).error).toMatchObject({ code: 502, status: 'UNAVAILABLE', message: 'Upstream answered with an error too large to relay.' });
    }
    const rows = await h.waitForRows(4);
    expect(rows.map((r) => r.status)).toEqual([400, 502, 400, 502]);
  });

  it('a compressed error body that cannot be searched (corrupt, or inflating past 8 MiB) is not relayed: 502', async () => {
    h = await startHarness({
      fake: {
        intercept: ({ req, res }) => {
          const got = String(req.headers['x-goog-api-key']);
          const body = req.headers['x-test-kind'] === 'bomb'
            ? gzipSync(Buffer.concat([Buffer.from(`{"error":{"message":"${got}`), Buffer.alloc(9 * 1024 * 1024, 'a'), Buffer.from('"}}')]))
            : Buffer.concat([gzipSync(`{"error":{"message":"${got}"}}`).subarray(0, 12), Buffer.from('not gzip at all')]);
          res.writeHead(400, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(body.length) });
          res.end(body);
          return true;
        },
      },
    });
    const key = (await h.createKey()).key;
    for (const kind of ['bomb', 'corrupt']) {
      const res = await rawRequest(`${h.url}/v1beta/models/google-text:generateContent`, { headers: { 'x-goog-api-key': key, 'x-test-kind': kind, 'accept-encoding': 'gzip' }, body: '{}' });
      expect(res.status, kind).toBe(502);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(res.body.toString()).error).toMatchObject({ code: 502, message: 'Upstream answered with an error the gateway could not check.' });
    }
  });

  it('a 2xx body is never rewritten, even when it quotes something key-shaped (model output is the tenant’s)', async () => {
    const text = JSON.stringify({ candidates: [{ content: { parts: [{ text: `a made-up ggw_${'z'.repeat(43)}, AIza${'y'.repeat(35)} and ?key=value` }] } }] });
    h = await startHarness({
      fake: {
        intercept: ({ res }) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
          res.end(text);
          return true;
        },
      },
    });
    const key = (await h.createKey()).key;
    const res = await rawRequest(`${h.url}/v1beta/models/google-text:generateContent`, { headers: { 'x-goog-api-key': key }, body: '{}' });
    expect(res.body.toString()).toBe(text);
  });
});
