import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientAborted, takeBody, type RequestBody } from '../../src/exchange/body.js';
import { GatewayError } from '../../src/errors.js';

const EVENTS = ['data', 'end', 'error', 'close'] as const;
const limits = { maxJsonBytes: 64, maxUploadBytes: 1024 };

type Counts = Record<(typeof EVENTS)[number], number>;
const counts = (req: IncomingMessage): Counts => Object.fromEntries(EVENTS.map((e) => [e, req.listenerCount(e)])) as Counts;

interface Seen {
  body: RequestBody | null;
  error: unknown;
  before: Counts;
  after: Counts;
}

/** A real node:http server whose handler runs takeBody and records the request's listeners before and after. */
async function serve(): Promise<{ server: Server; port: number; seen: Promise<Seen> }> {
  let report!: (s: Seen) => void;
  const seen = new Promise<Seen>((r) => (report = r));
  const server = createServer((req, res) => {
    const before = counts(req);
    takeBody(req, limits, false).then(
      (body) => {
        report({ body, error: null, before, after: counts(req) });
        res.end('ok');
      },
      (error: unknown) => {
        report({ body: null, error, before, after: counts(req) });
        res.destroy();
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

describe('takeBody reading a small body whole', () => {
  let server: Server | null = null;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    server = null;
  });

  it('returns the bytes and leaves none of its listeners on the request', async () => {
    const s = await serve();
    server = s.server;
    const payload = '{"contents":[]}';
    const req = request({ port: s.port, method: 'POST', headers: { 'content-length': Buffer.byteLength(payload) } });
    req.end(payload);
    const { body, error, before, after } = await s.seen;
    expect(error).toBeNull();
    expect(body!.buffered!.toString()).toBe(payload);
    // Listeners left behind keep the request, its body and its promise chain reachable from the
    // request's listener table, which V8 may place in the old generation: promoted at every minor GC.
    expect(after).toEqual(before);
  });

  it('refuses a chunked body over the limit with a 413 and leaves none of its listeners on the request', async () => {
    const s = await serve();
    server = s.server;
    const req = request({ port: s.port, method: 'POST' });
    req.on('error', () => {});
    req.write('x'.repeat(100));
    const { error, before, after } = await s.seen;
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(413);
    expect(after).toEqual(before);
    req.destroy();
  });

  it('still rejects with ClientAborted when the client leaves mid-body', async () => {
    const s = await serve();
    server = s.server;
    const req = request({ port: s.port, method: 'POST', headers: { 'content-length': 50 } });
    req.on('error', () => {});
    req.write('{"partial":');
    // Let the server see the head and the first bytes before the client goes.
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    const { error, before, after } = await s.seen;
    expect(error).toBeInstanceOf(ClientAborted);
    expect(after).toEqual(before);
  });
});
