// Clients that hang up mid-upload or mid-stream: the upstream request must be aborted, the row
// recorded as client_aborted (status 499 when no response header had gone out), and nothing may
// stay behind (sockets, in-flight slots, timers).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness.js';
import { rawRequest } from '../support/raw-http.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function until<T>(what: string, probe: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/** Everything the gateway holds for a request is gone: connections, in-flight slots, upstream sockets, timers. */
async function expectNothingLeft(h: Harness, baseline: { timers: number; sockets: number }) {
  const { server, deps } = h.gateway;
  await until('gateway connections', () => new Promise<number>((r) => server.getConnections((_e, n) => r(n))), (n) => n === 0);
  expect(deps.lifecycle.inflight).toBe(0);
  await until('upstream pool', () => deps.upstream.pool.stats, (s) => s.running === 0 && s.pending === 0);
  await until('sockets', sockets, (n) => n <= baseline.sockets);
  await until('timers', timers, (n) => n <= baseline.timers);
}

/**
 * One request first, so lazily created long-lived resources (the upstream pool, undici's timer
 * wheel) are part of the baseline; on a connection that closes, so the client leaves nothing open.
 */
async function warmUp(h: Harness, key: string) {
  const res = await rawRequest(`${h.url}/v1beta/models/gemini-2.5-flash:countTokens`, { headers: { 'x-goog-api-key': key }, body: '{}' });
  expect(res.status).toBe(200);
}

async function begin(opts: HarnessOptions = {}) {
  h = await startHarness(opts);
  const key = (await h.createKey()).key;
  await warmUp(h, key);
  await h.waitForRows(1);
  h.fake.requests.length = 0;
  await until('settled', () => h!.gateway.deps.upstream.pool.stats.running, (n) => n === 0);
  return { h, key, port: Number(new URL(h.url).port), baseline: { timers: timers(), sockets: sockets() } };
}

/** Sends headers and part of a body, waits until `ready()`, then hangs up. */
async function uploadAndVanish(port: number, head: string, part: Buffer, ready: () => boolean | Promise<boolean>) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  socket.write(head);
  socket.write(part);
  await until('upload under way', ready, Boolean);
  socket.destroy();
}

describe('a client that vanishes', () => {
  it('mid-upload of a large streamed body: the upstream request is aborted and the row says client_aborted', async () => {
    const { h, key, port, baseline } = await begin();
    const head = `POST /upload/v1beta/files HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\ncontent-length: ${4 * 1024 * 1024}\r\n\r\n`;
    await uploadAndVanish(port, head, Buffer.alloc(1024 * 1024, 7), () => h.gateway.deps.lifecycle.inflight === 1);
    const rec = await until('upstream saw the request', () => h.fake.requests[0], Boolean);
    await rec!.finished;
    expect(rec!.closedEarly).toBe(true);
    expect(rec!.body.length).toBeLessThan(4 * 1024 * 1024);
    const [row] = await h.waitForRows(2);
    expect((await h.rows()).at(-1)).toMatchObject({ endpoint: 'upload', outcome: 'client_aborted', status: 499 });
    expect(row).toBeDefined();
    await expectNothingLeft(h, baseline);
  });

  it('mid-upload of a chunked body: upstream aborted, client_aborted', async () => {
    const { h, key, port, baseline } = await begin();
    const head = `POST /upload/v1beta/files HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\ntransfer-encoding: chunked\r\n\r\n`;
    await uploadAndVanish(port, head, Buffer.from(`4000\r\n${'c'.repeat(0x4000)}\r\n`), () => h.fake.requests.length === 0 && h.gateway.deps.upstream.pool.stats.running === 1);
    const rec = await until('upstream saw the request', () => h.fake.requests[0], Boolean);
    await rec!.finished;
    expect(rec!.closedEarly).toBe(true);
    await h.waitForRows(2);
    expect((await h.rows()).at(-1)).toMatchObject({ outcome: 'client_aborted', status: 499 });
    await expectNothingLeft(h, baseline);
  });

  it.each([
    ['a small JSON body', 500_000],
    ['a large JSON body (over the 1 MiB buffering threshold)', 2 * 1024 * 1024],
  ])('while %s is still being read: nothing is forwarded, client_aborted', async (_what, length) => {
    const { h, key, port, baseline } = await begin();
    const head = `POST /v1beta/models/google-text:generateContent HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\ncontent-length: ${length}\r\n\r\n`;
    await uploadAndVanish(port, head, Buffer.from('{"contents":"'), () => h.gateway.deps.lifecycle.inflight === 1);
    await h.waitForRows(2);
    expect((await h.rows()).at(-1)).toMatchObject({ outcome: 'client_aborted', status: 499, endpoint: 'generateContent' });
    expect(h.fake.requests).toHaveLength(0);
    await expectNothingLeft(h, baseline);
  });

  it('after sending its whole request, before upstream answered: upstream aborted, client_aborted with status 499', async () => {
    // Upstream takes the request and never answers, so nothing can have been sent to the client.
    const { h, key, port, baseline } = await begin({ fake: { intercept: (ctx) => ctx.url.pathname.endsWith(':generateContent') } });
    const body = '{"contents":[]}';
    const head = `POST /v1beta/models/google-text:generateContent HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${key}\r\ncontent-length: ${body.length}\r\n\r\n`;
    await uploadAndVanish(port, head, Buffer.from(body), () => h.fake.requests.length === 1);
    const rec = h.fake.requests[0]!;
    await rec.finished;
    expect(rec.closedEarly).toBe(true);
    await h.waitForRows(2);
    expect((await h.rows()).at(-1)).toMatchObject({ endpoint: 'generateContent', outcome: 'client_aborted', status: 499, ttfb_ms: null, total_tokens: null });
    await expectNothingLeft(h, baseline);
  });

  it('mid-stream: the upstream stream is aborted, the row keeps the usage seen so far', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h = await startHarness({ fake: { beforeFrame: (i) => (i === 2 ? gate : undefined) } });
    const key = (await h.createKey()).key;
    await warmUp(h, key);
    await h.waitForRows(1);
    h.fake.requests.length = 0;
    const baseline = { timers: timers(), sockets: sockets() };
    try {
      const res = await rawRequest(`${h.url}/v1beta/models/google-stream-no-args-tool-call:streamGenerateContent?alt=sse`, {
        headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
        body: '{}',
        onResponse: (req, res) => {
          let seen = '';
          res.on('data', (c: Buffer) => {
            seen += c.toString();
            // Both frames before the gate have arrived (each ends with a blank line): hang up.
            if (seen.split('\r\n\r\n').length === 3) req.destroy();
          });
        },
      });
      expect(res.error).toBeDefined();
      const rec = h.fake.requests[0]!;
      await rec.finished;
      expect(rec.closedEarly).toBe(true);
      await h.waitForRows(2);
      const row = (await h.rows()).at(-1)!;
      expect(row).toMatchObject({ outcome: 'client_aborted', status: 200, stream: 1 });
      expect(row.usage_json).not.toBeNull();
      await expectNothingLeft(h, baseline);
    } finally {
      release();
    }
  });
});
