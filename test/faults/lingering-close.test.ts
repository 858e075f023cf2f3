// Lingering close: a client that writes its whole body before reading must still see the early
// refusal. Without it the gateway closes while data still arrives, the kernel answers with a
// reset, and the client loses the response. The lingering itself must stay bounded.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness.js';
import { parseRaw } from '../support/raw-http.js';

const MiB = 1024 * 1024;
const GENERATE = '/v1beta/models/gemini-2.5-flash:generateContent';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(opts: HarnessOptions = {}) {
  h = await startHarness(opts);
  return { h, key: (await h.createKey()).key, port: Number(new URL(h.url).port) };
}

interface Exchange {
  /** Body bytes the client managed to hand to its kernel before the connection broke (or all of them). */
  written: number;
  writeError: string | null;
  /** Everything the server sent, read only after the client finished (or failed) writing. */
  response: string;
  readError: string | null;
}

/**
 * A client of the "write everything, then read" kind (most HTTP/1.1 clients uploading a file): it
 * sends the head and `size` body bytes in 1 MiB writes, honouring backpressure, and only then
 * starts reading. `chunked` sends the body with chunked transfer coding instead of a length.
 */
function writeThenRead(port: number, o: { path?: string; headers?: Record<string, string>; size: number; chunked?: boolean; pace?: number }): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.pause(); // not reading yet: whatever the server sends waits in the buffers
    const chunk = Buffer.alloc(MiB, 0x61);
    const out: Exchange = { written: 0, writeError: null, response: '', readError: null };
    let reading = false;
    socket.on('error', (e) => {
      if (reading) out.readError ??= e.message;
      else out.writeError ??= e.message;
    });
    const headers = { host: '127.0.0.1', 'content-type': 'application/json', ...(o.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(o.size) }), ...o.headers };
    socket.write(`POST ${o.path ?? GENERATE} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
    // Whatever the client reads once it starts reading; a connection broken before that lost the response.
    const chunks: Buffer[] = [];
    socket.on('close', () => resolve({ ...out, response: Buffer.concat(chunks).toString('latin1') }));
    const read = () => {
      reading = true;
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.resume();
      socket.end();
    };
    const pump = () => {
      while (out.written < o.size) {
        if (socket.destroyed) return;
        const piece = o.chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
        out.written += chunk.length;
        if (!socket.write(piece)) return void socket.once('drain', pump);
        if (o.pace) return void setTimeout(pump, o.pace);
      }
      if (o.chunked) socket.write('0\r\n\r\n');
      read();
    };
    pump();
  });
}

describe('lingering close after an early refusal', () => {
  it('a client that writes a 150 MiB body before reading receives the 413', async () => {
    const { h, key, port } = await start();
    const ex = await writeThenRead(port, { headers: { 'x-goog-api-key': key }, size: 150 * MiB });
    expect(ex.writeError).toBeNull();
    expect(ex.written).toBe(150 * MiB);
    const res = parseRaw(ex.response);
    expect(res.status).toBe(413);
    expect(res.head.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 413, status: 'INVALID_ARGUMENT' } });
    expect(h.fake.requests).toHaveLength(0);
  }, 60_000);

  it('the same with a chunked body that grows past the limit after the gateway began reading it', async () => {
    const { h, key, port } = await start({ env: { MAX_JSON_BODY_BYTES: String(4 * MiB) } });
    const ex = await writeThenRead(port, { headers: { 'x-goog-api-key': key }, size: 150 * MiB, chunked: true });
    expect(ex.writeError).toBeNull();
    expect(parseRaw(ex.response).status).toBe(413);
    expect(h.fake.requests).toHaveLength(0);
  }, 60_000);

  it('other early refusals linger too: 401 without a key, with a bad key, and from the admin API', async () => {
    const { port } = await start({ env: { ADMIN_TOKEN: 'admin-token-for-linger-tests-0123' } });
    const cases: [Record<string, string>, string, number][] = [
      [{}, GENERATE, 401],
      [{ 'x-goog-api-key': 'ggw_not-a-real-key-but-shaped-like-one-0123456789' }, GENERATE, 401],
      [{}, '/admin/v1/tenants', 401],
    ];
    for (const [headers, path, status] of cases) {
      const ex = await writeThenRead(port, { path, headers, size: 64 * MiB });
      expect({ path, writeError: ex.writeError, status: parseRaw(ex.response).status }).toEqual({ path, writeError: null, status });
    }
  }, 60_000);
});

describe('lingering is bounded', () => {
  it('stops reading after LINGERING_MAX_BYTES and closes', async () => {
    const { key, port } = await start({ env: { LINGERING_MAX_BYTES: String(8 * MiB) } });
    const ex = await writeThenRead(port, { headers: { 'x-goog-api-key': key }, size: 1024 * MiB });
    // The gateway gave up long before a GiB arrived: the client's writes failed.
    expect(ex.writeError).not.toBeNull();
    expect(ex.written).toBeLessThan(1024 * MiB);
  }, 60_000);

  it('closes after LINGERING_TIME_MS even while the client keeps sending', async () => {
    const { key, port } = await start({ env: { LINGERING_TIME_MS: '300', LINGERING_TIMEOUT_MS: '60000' } });
    // 1 MiB every 20 ms for a GiB would take 20 s; the lingering ends first.
    const ex = await writeThenRead(port, { headers: { 'x-goog-api-key': key }, size: 1024 * MiB, pace: 20 });
    expect(ex.writeError).not.toBeNull();
    expect(ex.written).toBeLessThan(1024 * MiB);
  }, 60_000);

  it('closes after LINGERING_TIMEOUT_MS without a byte', async () => {
    const { key, port } = await start({ env: { LINGERING_TIMEOUT_MS: '200' } });
    const closed = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.on('error', () => {});
      socket.on('close', () => resolve(text));
      socket.write(`POST ${GENERATE} HTTP/1.1\r\nhost: x\r\nx-goog-api-key: ${key}\r\ncontent-length: ${100 * MiB}\r\n\r\n`);
      socket.write(Buffer.alloc(64 * 1024));
      // …and then nothing: the gateway must not wait for the other 99.9 MiB.
    });
    expect(parseRaw(closed).status).toBe(413);
  }, 30_000);

  it('shutdown does not wait for a lingering connection', async () => {
    const { h, key, port } = await start({ env: { LINGERING_TIME_MS: '600000', LINGERING_TIMEOUT_MS: '600000' } });
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('error', () => {});
    socket.write(`POST ${GENERATE} HTTP/1.1\r\nhost: x\r\nx-goog-api-key: ${key}\r\ncontent-length: ${100 * MiB}\r\n\r\n`);
    const trickle = setInterval(() => socket.write(Buffer.alloc(1024)), 20);
    try {
      await expect.poll(() => parseRaw(text).status).toBe(413);
      await h.gateway.shutdown(1000);
      await closed;
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  }, 30_000);
});
