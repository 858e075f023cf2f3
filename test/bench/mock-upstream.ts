// Mock Gemini upstream, run as its own process on loopback.
//   POST /v1beta/models/<m>:generateContent              -> ~800-byte JSON reply with usageMetadata
//   POST /v1beta/models/<m>:streamGenerateContent?alt=sse -> MOCK_FRAMES frames, one every
//        MOCK_FRAME_DELAY_MS on an absolute schedule (first one with the headers), CRLF, cumulative usage
//   GET  /__mock/stats                                   -> counters (no key needed)
// Every model call must carry x-goog-api-key == UPSTREAM_KEY (or UPSTREAM_KEY_ALT); anything else is rejected like Google does
// and counted, so the harness can assert the proxy swapped keys.
import http from 'node:http';
import { SSE_PATH, UNARY_REPLY, seedOf, sseFrame } from './payloads.js';

const PORT = Number(process.env.PORT ?? 0);
const KEY = process.env.UPSTREAM_KEY ?? '';
// A second key the mock accepts too: the gateway-full peer spreads requests over a two-key pool.
const ALT_KEY = process.env.UPSTREAM_KEY_ALT || KEY;
const FRAMES = Number(process.env.MOCK_FRAMES ?? 64);
const DELAY_MS = Number(process.env.MOCK_FRAME_DELAY_MS ?? 20);
if (!KEY) throw new Error('mock-upstream: UPSTREAM_KEY is required');

const stats = {
  unary: 0,
  streams: 0,
  streamsCompleted: 0,
  streamsAborted: 0,
  framesSent: 0,
  rejected: 0,
  rejectedKeys: [] as string[], // first few offending key prefixes, for the report
  notFound: 0,
  openStreams: 0,
  peakOpenStreams: 0,
};

const BAD_KEY = Buffer.from(
  JSON.stringify({
    error: {
      code: 400,
      message: 'API key not valid. Please pass a valid API key.',
      status: 'INVALID_ARGUMENT',
    },
  }),
);

function reject(res: http.ServerResponse, key: string): void {
  stats.rejected++;
  if (stats.rejectedKeys.length < 5) stats.rejectedKeys.push(key ? `${key.slice(0, 6)}…` : '(none)');
  res.writeHead(400, { 'content-type': 'application/json; charset=UTF-8', 'content-length': BAD_KEY.length });
  res.end(BAD_KEY);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length });
  res.end(buf);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Stream {
  res: http.ServerResponse;
  seed: string;
  next: number; // index of the next frame
  due: number; // when it is due (performance.now() ms)
  closed: boolean;
}

// One timer for all streams. Every stream has the same period, and frame i of a stream is due at
// start + i*D (absolute, so timer drift doesn't accumulate); a stream re-queued after its write is
// therefore never due before anything already queued, and a FIFO stays sorted by due time.
let queue: Stream[] = [];
let head = 0;
let timer: NodeJS.Timeout | null = null;

function writeFrame(s: Stream): void {
  s.res.write(sseFrame(s.seed, s.next, FRAMES)); // built when due: a burst of new streams costs nothing up front
  stats.framesSent++;
  s.next++;
  if (s.next === FRAMES) {
    s.closed = true;
    stats.openStreams--;
    stats.streamsCompleted++;
    s.res.end();
    return;
  }
  s.due += DELAY_MS;
  queue.push(s);
}

function arm(): void {
  if (timer || head === queue.length) return;
  timer = setTimeout(tick, Math.max(0, queue[head]!.due - performance.now()));
}

function tick(): void {
  timer = null;
  const now = performance.now();
  while (head < queue.length && queue[head]!.due <= now + 0.5) {
    const s = queue[head++]!;
    if (!s.closed && !s.res.destroyed) writeFrame(s);
  }
  if (head > 4096 && head * 2 > queue.length) {
    queue = queue.slice(head);
    head = 0;
  }
  arm();
}

function stream(res: http.ServerResponse, body: Buffer): void {
  const s: Stream = { res, seed: seedOf(body.toString('utf8')) ?? 'unknown', next: 0, due: performance.now(), closed: false };
  stats.streams++;
  stats.openStreams++;
  if (stats.openStreams > stats.peakOpenStreams) stats.peakOpenStreams = stats.openStreams;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.on('close', () => {
    if (s.closed) return;
    s.closed = true;
    stats.openStreams--;
    stats.streamsAborted++;
  });
  writeFrame(s); // the first frame goes out with the headers
  arm();
}

const server = http.createServer({ keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/__mock/stats') return json(res, 200, stats);
  if (req.method === 'GET' && (url === '/healthz' || url === '/__mock/health')) return json(res, 200, { ok: true });
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const isUnary = /^\/v1(beta)?\/models\/[^/:]+:generateContent$/.test(path);
  const isStream = /^\/v1(beta)?\/models\/[^/:]+:streamGenerateContent$/.test(path);
  if (req.method !== 'POST' || (!isUnary && !isStream)) {
    stats.notFound++;
    req.resume();
    return json(res, 404, { error: { code: 404, message: `mock: no route ${req.method} ${path}`, status: 'NOT_FOUND' } });
  }
  const header = req.headers['x-goog-api-key'];
  const key = typeof header === 'string' ? header : '';
  const queryKey = q === -1 ? null : new URLSearchParams(url.slice(q + 1)).get('key');
  const known = (k: string): boolean => k === KEY || k === ALT_KEY;
  if (!known(key) || (queryKey !== null && !known(queryKey))) {
    req.resume();
    return reject(res, key || queryKey || '');
  }
  readBody(req).then(
    (body) => {
      if (isUnary) {
        stats.unary++;
        res.writeHead(200, {
          'content-type': 'application/json; charset=UTF-8',
          'content-length': UNARY_REPLY.length,
          'x-content-type-options': 'nosniff',
        });
        res.end(UNARY_REPLY);
      } else {
        stream(res, body);
      }
    },
    () => res.destroy(),
  );
});

server.maxHeadersCount = 100;
server.headersTimeout = 30_000;
server.requestTimeout = 0;
server.listen(PORT, '127.0.0.1', 2048, () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : PORT;
  process.stdout.write(`mock-upstream listening ${port} frames=${FRAMES} delayMs=${DELAY_MS} path=${SSE_PATH}\n`);
});

const stop = (): void => {
  server.close();
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
