// 50 clients reading a fast upstream stream at about 1 KB/s. Backpressure must reach upstream
// (it stops being read), the gateway's memory must stay flat, and other clients must not notice.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedKey, startChildGateway, type ChildGateway } from '../support/child-gateway.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { framedGenerate } from '../support/fixtures.js';
import { UPSTREAM_KEY } from '../support/harness.js';
import { rawRequest } from '../support/raw-http.js';

const SLOW = 50;
/** Per stream: far more than the kernel buffers between upstream and a stalled client (a few MB). */
const STREAM_BYTES = 32 * 1024 * 1024;
const FRAME = Buffer.from(`data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: 'x'.repeat(16_000) }] } }] })}\r\n\r\n`);

let dir: string;
let fake: FakeUpstream;
let child: ChildGateway;
let key: string;
/** Bytes each firehose response managed to hand to its socket. */
const pushed: number[] = [];

/** Writes frames as fast as the gateway takes them: only its backpressure can slow this down. */
function firehose(res: http.ServerResponse, slot: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const pump = (): void => {
    while (pushed[slot]! < STREAM_BYTES && !res.destroyed) {
      pushed[slot]! += FRAME.length;
      if (!res.write(FRAME)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ggw-slow-'));
  const dbPath = join(dir, 'gateway.db');
  key = await seedKey(dbPath);
  fake = await startFakeUpstream({
    upstreamKey: UPSTREAM_KEY,
    forbiddenSecrets: () => [key],
    intercept: ({ url, res }) => {
      if (!url.pathname.includes('firehose')) return false;
      pushed.push(0);
      firehose(res, pushed.length - 1);
      return true;
    },
  });
  child = await startChildGateway({ DATABASE_PATH: dbPath, UPSTREAM_BASE_URL: fake.url, GEMINI_API_KEY: UPSTREAM_KEY, GATEWAY_INTERNAL_STATS: 'true' });
});

afterAll(async () => {
  if (child.process.exitCode === null) child.process.kill('SIGKILL');
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

async function rss(): Promise<number> {
  const res = await rawRequest(`${child.url}/internal/stats`, { method: 'GET' });
  return (JSON.parse(res.body.toString()) as { rssBytes: number }).rssBytes;
}

interface SlowClient {
  read: number;
  stop(): void;
}

/** Reads 100 bytes every 100 ms (~1 KB/s) and leaves the rest in the kernel. */
function slowClient(url: string): SlowClient {
  const client: SlowClient = { read: 0, stop: () => {} };
  const req = http.request(url, { method: 'POST', agent: false, headers: { 'x-goog-api-key': key, 'content-type': 'application/json' } }, (res) => {
    const timer = setInterval(() => {
      const chunk = res.read(100) as Buffer | null;
      if (chunk) client.read += chunk.length;
    }, 100);
    client.stop = () => {
      clearInterval(timer);
      req.destroy();
    };
  });
  req.on('error', () => {});
  req.end('{}');
  return client;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

it('50 slow readers: upstream is held back, gateway RSS stays bounded, a normal client is unaffected', async () => {
  // Warm up so the baseline includes what every process allocates on first use.
  for (let i = 0; i < 3; i++) expect((await rawRequest(`${child.url}/v1beta/models/google-text:generateContent`, { headers: { 'x-goog-api-key': key }, body: '{}' })).status).toBe(200);
  const before = await rss();

  const clients = Array.from({ length: SLOW }, () => slowClient(`${child.url}/v1beta/models/firehose:streamGenerateContent?alt=sse`));
  await until(() => pushed.length === SLOW, 'all slow streams started');
  // Upstream fills every buffer on the way and then stalls: wait for its total to stop moving.
  let last = -1;
  await until(() => {
    const now = sum(pushed);
    const stalled = now - last < 2 * 1024 * 1024;
    last = now;
    return stalled;
  }, 'upstream to stall', 1000);

  // Each slow stream offered 32 MB; held back by backpressure, none could hand all of it over
  // (what did move sits in kernel socket buffers: about 10 MB per stream across the two hops).
  expect(Math.max(...pushed)).toBeLessThan(STREAM_BYTES);
  const grown = (await rss()) - before;
  // Buffering the streams instead would have grown the gateway by gigabytes.
  expect(grown).toBeLessThan(200 * 1024 * 1024);

  // A normal client meanwhile gets its whole stream, byte for byte.
  const normal = await rawRequest(`${child.url}/v1beta/models/google-text:streamGenerateContent?alt=sse`, { headers: { 'x-goog-api-key': key }, body: '{}' });
  expect(normal.status).toBe(200);
  expect(normal.body.equals(framedGenerate('google-text', '\r\n'))).toBe(true);
  expect(clients.every((c) => c.read > 0)).toBe(true);

  for (const c of clients) c.stop();
  await until(() => fake.requests.filter((r) => r.url.includes('firehose') && r.closedEarly).length === SLOW, 'upstream streams aborted');
  child.process.kill('SIGTERM');
  expect(await child.exited).toEqual({ code: 0, signal: null });
});

async function until(ok: () => boolean, what: string, everyMs = 50, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
