// Hostile requests: oversized and malformed bodies, paths that try to escape the API prefix,
// headers that try to smuggle or confuse, and key guessing. None of them may reach upstream.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { installClientErrorHandler } from '../../src/proxy/client-error.js';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness.js';
import { parseRaw, rawExchange, rawRequest } from '../support/raw-http.js';

const ADMIN_TOKEN = 'admin-token-for-hostile-tests-0123';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(opts: HarnessOptions = {}) {
  h = await startHarness({ ...opts, env: { ADMIN_TOKEN, ...opts.env } });
  const key = (await h.createKey()).key;
  return { h, key, port: Number(new URL(h.url).port) };
}

const googleShaped = (body: string, code: number) => expect(JSON.parse(body)).toMatchObject({ error: { code, message: expect.any(String), status: expect.any(String) } });

/** A chunked request body (no content-length), written in pieces. */
function chunkedPost(url: string, headers: Record<string, string>, pieces: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => {}); // the gateway may close while we still write
    for (const p of pieces) req.write(p);
    req.end();
  });
}

describe('body size limits', () => {
  const env = { MAX_JSON_BODY_BYTES: '4096', MAX_UPLOAD_BODY_BYTES: '65536' };

  it('a declared JSON body over MAX_JSON_BODY_BYTES → 413 in Google shape before a byte is read; nothing forwarded', async () => {
    const { h, key, port } = await start({ env });
    const head = `POST /v1beta/models/google-text:generateContent HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n`;
    const res = parseRaw(await rawExchange(port, head + '{"contents":'));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 413, message: "Request body of 100000 bytes exceeds the gateway's limit of 4096 bytes.", status: 'INVALID_ARGUMENT' } });
    expect(h.fake.requests).toHaveLength(0);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 413, outcome: 'gateway_error' });
  });

  it('a chunked JSON body that grows past the limit → 413; nothing forwarded', async () => {
    const { h, key } = await start({ env });
    const res = await chunkedPost(`${h.url}/v1beta/models/google-text:generateContent`, { 'x-goog-api-key': key, 'content-type': 'application/json' }, [
      Buffer.from('{"contents":"'),
      Buffer.alloc(3000, 97),
      Buffer.alloc(3000, 97),
      Buffer.from('"}'),
    ]);
    expect(res.status).toBe(413);
    googleShaped(res.body, 413);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('uploads have their own, larger limit: declared over it → 413, under it → forwarded whole', async () => {
    const { h, key, port } = await start({ env });
    const head = (n: number) => `POST /upload/v1beta/files HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\ncontent-length: ${n}\r\nconnection: close\r\n\r\n`;
    const over = parseRaw(await rawExchange(port, head(70000)));
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body).error.message).toContain('65536');
    expect(h.fake.requests).toHaveLength(0);
    // 8 KB is over the JSON limit but fine for an upload.
    const within = parseRaw(await rawExchange(port, head(8192) + 'u'.repeat(8192)));
    expect(within.status).not.toBe(413);
    expect(h.fake.requests).toHaveLength(1);
    expect(h.fake.requests[0]!.body.length).toBe(8192);
  });

  it('a chunked upload that grows past the limit is cut: 413 to the client, upstream never gets a complete request', async () => {
    const { h, key } = await start({ env });
    const pieces = Array.from({ length: 10 }, () => Buffer.alloc(16384, 117));
    const res = await chunkedPost(`${h.url}/upload/v1beta/files`, { 'x-goog-api-key': key, 'x-goog-upload-protocol': 'raw' }, pieces);
    expect(res.status).toBe(413);
    googleShaped(res.body, 413);
    const [row] = await h.waitForRows(1);
    expect(row).toMatchObject({ status: 413, outcome: 'gateway_error', endpoint: 'upload' });
    await Promise.all(h.fake.requests.map((r) => r.finished));
    for (const r of h.fake.requests) {
      expect(r.closedEarly).toBe(true);
      expect(r.body.length).toBeLessThanOrEqual(65536);
    }
  });
});

describe('a body that stops arriving (slowloris)', () => {
  const env = { REQUEST_BODY_TIMEOUT_MS: '400' };
  /** Sends `head` and the first body bytes, then nothing more; returns what the gateway sent until it closed. */
  const stall = (port: number, head: string, first: string) => rawExchange(port, head + first, 5000);

  it('a declared JSON body → 400 in Google shape after REQUEST_BODY_TIMEOUT_MS of silence, connection closed, recorded, nothing forwarded', async () => {
    const { h, key, port } = await start({ env });
    const started = Date.now();
    const text = await stall(port, `POST /v1beta/models/google-text:generateContent HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n`, '{"contents":');
    expect(Date.now() - started).toBeLessThan(4000);
    const res = parseRaw(text);
    expect(res.status).toBe(400);
    googleShaped(res.body, 400);
    expect(res.head).toMatch(/connection: close/);
    expect(h.fake.requests).toHaveLength(0);
    expect(await h.waitForRows(1)).toMatchObject([{ status: 400, outcome: 'gateway_error' }]);
  });

  it('a chunked upload → 400, and upstream only ever gets an incomplete request', async () => {
    const { h, key, port } = await start({ env });
    const text = await stall(port, `POST /upload/v1beta/files HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\nx-goog-upload-protocol: raw\r\ntransfer-encoding: chunked\r\n\r\n`, '5\r\nhello\r\n');
    expect(parseRaw(text).status).toBe(400);
    await Promise.all(h.fake.requests.map((r) => r.finished));
    for (const r of h.fake.requests) expect(r.closedEarly).toBe(true);
  });

  it('a large declared upload (streamed through) is cut too', async () => {
    const { h, key, port } = await start({ env });
    const started = Date.now();
    await stall(port, `POST /upload/v1beta/files HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\nx-goog-upload-protocol: raw\r\ncontent-length: 5000000\r\n\r\n`, 'u'.repeat(1000));
    expect(Date.now() - started).toBeLessThan(4000);
    await Promise.all(h.fake.requests.map((r) => r.finished));
    for (const r of h.fake.requests) expect(r.closedEarly).toBe(true);
    expect(await h.waitForRows(1)).toMatchObject([{ endpoint: 'upload', outcome: 'client_aborted' }]);
  });

  it('a chunked upload refused before it was forwarded (404), whose client then goes silent: the gateway neither crashes nor waits for ever', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const { h, key, port } = await start({ env: { ...env, LINGERING_TIMEOUT_MS: '800' } });
      const connections = () => new Promise<number>((r) => h.gateway.server.getConnections((_e, n) => r(n)));
      // Half-open: the client keeps its side open after the gateway's FIN, and sends nothing more.
      const s = net.createConnection({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
        s.write(`POST /upload/v1beta/files?upload_id=nobody HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n`);
      });
      s.on('error', () => {});
      const answer = await new Promise<string>((r) => s.once('data', (c: Buffer) => r(c.toString('latin1'))));
      expect(parseRaw(answer).status).toBe(404);
      // Past REQUEST_BODY_TIMEOUT_MS and LINGERING_TIMEOUT_MS: the gateway has let go of the connection on its side.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await connections()).toBe(0);
      s.destroy();
      expect(h.fake.requests).toHaveLength(0);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('a slow but steady body, and a long silent wait for the answer once the body is in, are not cut', async () => {
    const { h, key } = await start({ env, fake: { intercept: async ({ url, res }) => {
      if (!url.pathname.includes('thinker')) return false;
      await new Promise((r) => setTimeout(r, 1200));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"candidates":[]}');
      return true;
    } } });
    const steady = await chunkedPost(`${h.url}/v1beta/models/thinker:generateContent`, { 'x-goog-api-key': key, 'content-type': 'application/json' }, []);
    expect(steady.status).toBe(200);
    const res = await new Promise<number>((resolve) => {
      const req = http.request(`${h.url}/v1beta/models/thinker:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' } }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      const pieces = ['{"contents"', ':[{"parts"', ':[{"text":"hi"}]}]', '}'];
      const next = (): void => {
        const p = pieces.shift();
        if (p === undefined) return void req.end();
        req.write(p);
        setTimeout(next, 250);
      };
      next();
    });
    expect(res).toBe(200);
  });
});

describe('malformed JSON where the gateway must read the body', () => {
  it('interactions.create (the model is in the body) → 400 in Google shape, not forwarded, recorded', async () => {
    const { h, key } = await start();
    for (const body of ['{"model": "basic", "input": ', 'not json at all', '\u0000\u0001']) {
      const res = await rawRequest(`${h.url}/v1beta/interactions`, { headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body.toString())).toEqual({ error: { code: 400, message: 'Request body is not valid JSON.', status: 'INVALID_ARGUMENT' } });
    }
    const chunked = await chunkedPost(`${h.url}/v1beta/interactions`, { 'x-goog-api-key': key }, [Buffer.from('{"model":'), Buffer.from('"basic",')]);
    expect(chunked.status).toBe(400);
    expect(h.fake.requests).toHaveLength(0);
    const rows = await h.waitForRows(4);
    expect(rows.map((r) => [r.status, r.outcome])).toEqual(Array(4).fill([400, 'gateway_error']));
  });

  it('where the gateway need not read it (generateContent), upstream judges the body and its answer passes through', async () => {
    const { h, key } = await start();
    const res = await rawRequest(`${h.url}/v1beta/models/google-text:generateContent`, { headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: '{"contents": [' });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString()).error.message).toBe('Invalid JSON payload received.');
    expect(h.fake.requests).toHaveLength(1);
  });
});

describe('deeply nested JSON', () => {
  // 20,000 levels: V8's JSON.parse takes it, a recursive walk over the parsed value does not.
  const deep = (field: string) => `{"contents":[{"parts":[{"text":"hi"}]}],"${field}":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;

  it('where the gateway walks the body (resource references, quota estimate) → forwarded, upstream judges it (its 400), never a 500', async () => {
    const { h, key } = await start();
    const created = await h.createKey('acme', 'capped');
    expect((await h.admin('PUT', `/admin/v1/projects/${await h.projectOf(created.id)}/limits`, { limits: [{ tokensPerDay: 1_000_000 }] })).status).toBe(200);
    for (const [k, field] of [[key, 'files'], [created.key, 'nested']] as const) {
      const res = await rawRequest(`${h.url}/v1beta/models/google-text:generateContent`, { headers: { 'x-goog-api-key': k, 'content-type': 'application/json' }, body: deep(field) });
      expect([field, res.status, JSON.parse(res.body.toString()).error.message]).toEqual([field, 400, 'Invalid JSON payload received.']);
    }
    expect(h.fake.requests).toHaveLength(2);
  });
});

describe('paths can only reach upstream API paths', () => {
  const hostile = [
    '/v1beta/../admin/v1/keys',
    '/v1beta/models/../../admin/v1/keys',
    '/v1beta/%2e%2e/admin/v1/keys',
    '/v1beta/%2E%2E/%2e%2E/admin/v1/keys',
    '/v1beta/.%2e/admin/v1/keys',
    '/v1beta/./models/google-text:generateContent',
    '/v1beta/models%2f..%2f..%2fadmin%2fv1%2fkeys',
    '/v1beta/models/x%252f..%252f..%252fadmin:generateContent',
    '/v1beta/models/%252e%252e/%252e%252e/admin/v1/keys',
    '/v1beta/models/%25252e%25252e/admin',
    '/v1beta/models/x%5c..%5cadmin:generateContent',
    '/v1beta\\..\\admin/v1/keys',
    '/v1beta/models/x%00:generateContent',
    '/v1beta/models/x%0d%0aHost:%20evil:generateContent',
    '/v1beta/models/x:generateContent#/../../../admin/v1/keys',
    '/admin/v1/../../v1beta/models',
    '//evil.example/v1beta/models',
    'http://evil.example/v1beta/models',
    'http://127.0.0.1/admin/v1/keys',
    '*',
    `/v1beta/models/${'a'.repeat(3000)}:generateContent`,
  ].map((t) => [t.length > 100 ? `${t.slice(0, 30)}… (${t.length} bytes)` : t, t]);

  it.each(hostile)('%s → 400 before routing; neither upstream nor the admin API sees it', async (_label, target) => {
    const { h, key, port } = await start();
    const req = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-goog-api-key: ${key}\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\nconnection: close\r\n\r\n`;
    const res = parseRaw(await rawExchange(port, req));
    expect(res.status).toBe(400);
    // In the shape of the surface the target was sent to, as written: only one sent to /admin/ gets the admin API's.
    if (target.startsWith('/admin/')) expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'invalid_argument', requestId: expect.any(String) } });
    else {
      googleShaped(res.body, 400);
      expect(res.body).not.toContain('requestId'); // the admin API's error shape
    }
    expect(h.fake.requests).toHaveLength(0);
  });

  it('a hostile target sent to the admin API under the PUBLIC_BASE_URL path gets the admin error shape too', async () => {
    const { h, port } = await start({ publicPath: '/gw' });
    for (const target of ['/gw/admin/v1/../../v1beta/models', '/gw/admin/v1/%2e%2e/keys']) {
      const req = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\nconnection: close\r\n\r\n`;
      const res = parseRaw(await rawExchange(port, req));
      expect({ target, status: res.status, body: JSON.parse(res.body) }).toEqual({ target, status: 400, body: { error: { code: 'invalid_argument', message: expect.any(String), requestId: expect.any(String) } } });
    }
    expect(h.fake.requests).toHaveLength(0);
  });

  it('what does reach upstream is always the raw API path on the configured host', async () => {
    const { h, key } = await start();
    const sdk = h.sdk(key);
    await sdk.models.generateContent({ model: 'google-text', contents: 'x' });
    await sdk.models.get({ model: 'gemini-2.5-flash' });
    await rawRequest(`${h.url}/v1beta/models/gemini%2D2.5-flash`, { method: 'GET', headers: { 'x-goog-api-key': key } });
    expect(h.fake.requests.map((r) => [r.url, r.headers.host])).toEqual([
      ['/v1beta/models/google-text:generateContent', `127.0.0.1:${h.fake.port}`],
      ['/v1beta/models/gemini-2.5-flash', `127.0.0.1:${h.fake.port}`],
      ['/v1beta/models/gemini%2D2.5-flash', `127.0.0.1:${h.fake.port}`],
    ]);
  });
});

describe('hostile headers (raw sockets)', () => {
  const get = (key: string, extra: string) => `GET /v1beta/models HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\n${extra}connection: close\r\n\r\n`;
  const post = (key: string, extra: string, body: string) =>
    `POST /v1beta/models/google-text:generateContent HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\n${extra}\r\n${body}`;
  const cases: Array<[string, (key: string) => string]> = [
    ['CR inside a header value', (k) => get(k, 'x-note: a\rX-Injected: 1\r\n')],
    ['bare LF inside a header value', (k) => get(k, 'x-note: a\nX-Injected: 1\r\n')],
    ['NUL inside a header value', (k) => get(k, 'x-note: a\u0000b\r\n')],
    ['obsolete line folding', (k) => get(k, 'x-note: a\r\n  folded\r\n')],
    ['oversized header', (k) => get(k, `x-big: ${'b'.repeat(20_000)}\r\n`)],
    ['Content-Length with Transfer-Encoding', (k) => post(k, 'content-length: 5\r\ntransfer-encoding: chunked\r\n', '0\r\n\r\n')],
    ['Transfer-Encoding with Content-Length', (k) => post(k, 'transfer-encoding: chunked\r\ncontent-length: 5\r\n', '0\r\n\r\n')],
    ['two different Content-Lengths', (k) => post(k, 'content-length: 2\r\ncontent-length: 40\r\n', '{}')],
    ['an unknown transfer coding', (k) => post(k, 'transfer-encoding: gzip\r\n', '{}')],
    ['an obfuscated Transfer-Encoding', (k) => post(k, 'transfer-encoding : chunked\r\n', '0\r\n\r\n')],
    ['a smuggled second request behind CL+TE', (k) => post(k, 'content-length: 4\r\ntransfer-encoding: chunked\r\n', `0\r\n\r\nGET /admin/v1/keys HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`)],
  ];

  it.each(cases)('%s → 400 in Google shape, connection closed, nothing forwarded', async (_name, build) => {
    const { h, key, port } = await start();
    const text = await rawExchange(port, build(key));
    const res = parseRaw(text);
    expect(res.status).toBe(400);
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1); // exactly one response: nothing smuggled through
    googleShaped(res.body, 400);
    expect(h.fake.requests).toHaveLength(0);
    expect(h.logs.some((l) => l.includes('refused unparseable request'))).toBe(true);
  });

  it('HTTP/1.1 without a Host header → 400 in Google shape, nothing forwarded', async () => {
    const { h, key, port } = await start();
    const res = parseRaw(await rawExchange(port, `GET /v1beta/models HTTP/1.1\r\nx-goog-api-key: ${key}\r\nconnection: close\r\n\r\n`));
    expect(res.status).toBe(400);
    googleShaped(res.body, 400);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('CONNECT (the gateway is no forward proxy) → 400 in Google shape, connection closed, nothing forwarded', async () => {
    const { h, key, port } = await start();
    const text = await rawExchange(port, `CONNECT generativelanguage.googleapis.com:443 HTTP/1.1\r\nHost: generativelanguage.googleapis.com:443\r\nx-goog-api-key: ${key}\r\n\r\n`);
    const res = parseRaw(text);
    expect(res.status).toBe(400);
    googleShaped(res.body, 400);
    expect(res.head).toMatch(/connection: close/);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('headers that take too long → the refusal\'s status line and its Google-shaped body agree', async () => {
    // The gateway's own server waits 60 s; the same handler on a server that gives up sooner.
    const server = http.createServer({ headersTimeout: 300, requestTimeout: 0, connectionsCheckingInterval: 50 }, (_req, res) => res.end());
    installClientErrorHandler(server, createLogger('silent'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const text = await rawExchange((server.address() as { port: number }).port, 'GET /v1beta/models HTTP/1.1\r\nHost: x\r\nx-slow: ', 3000);
      const res = parseRaw(text);
      expect(JSON.parse(res.body).error).toMatchObject({ code: res.status, message: 'Request headers took too long.' });
      expect(res.head).toMatch(/connection: close/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it.each([
    ['the same x-goog-api-key twice', (k: string) => `x-goog-api-key: ${k}\r\n`, ''],
    ['a second, different x-goog-api-key', () => 'x-goog-api-key: ggw_other\r\n', ''],
    ['a different ?key=', () => '', '?key=ggw_other'],
    ['a different Bearer token', () => 'authorization: Bearer ggw_other\r\n', ''],
  ])('%s → 400 conflicting keys, nothing forwarded', async (_name, extra, query) => {
    const { h, key, port } = await start();
    const req = `GET /v1beta/models${query} HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\n${extra(key)}connection: close\r\n\r\n`;
    const res = parseRaw(await rawExchange(port, req));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.message).toMatch(/Conflicting API keys/);
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe('failed-authentication throttling', () => {
  function manualClock(): Clock & { advance(ms: number): void } {
    let t = Date.now();
    return { now: () => t, advance: (ms) => void (t += ms) };
  }

  it('more than 20 failures a minute from one address → 429 with Retry-After for that address only, valid keys included; the window then resets', async () => {
    const clock = manualClock();
    const { h, key } = await start({ clock });
    const call = (k: string, localAddress?: string) => rawRequest(`${h.url}/v1beta/models`, { method: 'GET', headers: { 'x-goog-api-key': k }, localAddress });
    const guesses = Array.from({ length: 20 }, (_, i) => (i % 2 ? `ggw_${'x'.repeat(43)}${i}` : `guess-${i}`));
    for (const g of guesses) expect((await call(g)).status).toBe(401);

    const blocked = await call('ggw_one-more-guess');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    const valid = await call(key);
    expect(valid.status).toBe(429);
    // Same answer for a right and a wrong key: throttling must not confirm a guess.
    expect(valid.body.toString()).toBe(blocked.body.toString());
    expect(h.logs.filter((l) => l.includes('source throttled'))).toHaveLength(1);

    expect((await call(key, '127.0.0.2')).status).toBe(200);
    clock.advance(60_000);
    expect((await call(key)).status).toBe(200);
    expect(h.fake.requests).toHaveLength(2);
  });

  it('failures on the self-service endpoints count too, and the throttle then covers every tenant surface', async () => {
    const { h, key } = await start();
    const guess = (i: number) => rawRequest(`${h.url}/gateway/v1/${i % 2 ? 'usage' : 'quota'}`, { method: 'GET', headers: { 'x-goog-api-key': `ggw_${'y'.repeat(43)}${i}` } });
    for (let i = 0; i < 20; i++) expect((await guess(i)).status).toBe(401);
    const self = await rawRequest(`${h.url}/gateway/v1/quota`, { method: 'GET', headers: { 'x-goog-api-key': key } });
    expect(self.status).toBe(429);
    const api = await rawRequest(`${h.url}/v1beta/models`, { method: 'GET', headers: { 'x-goog-api-key': key } });
    expect(api.status).toBe(429);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('valid-looking and malformed wrong keys get the same answer', async () => {
    const { h } = await start();
    const a = await rawRequest(`${h.url}/v1beta/models`, { method: 'GET', headers: { 'x-goog-api-key': `ggw_${'A'.repeat(43)}` } });
    const b = await rawRequest(`${h.url}/v1beta/models`, { method: 'GET', headers: { 'x-goog-api-key': 'short' } });
    expect([a.status, b.status]).toEqual([401, 401]);
    expect(a.body.toString()).toBe(b.body.toString());
  });
});
