// The floor: the least a key-swapping proxy can do. node:http server + undici Pool to the upstream;
// swaps x-goog-api-key, drops hop-by-hop headers, pipes request and response bytes, parses nothing.
// Bodies with a content-length of at most 1 MiB are collected into one buffer first (one write
// upstream); anything else is streamed.
// Env: PORT, UPSTREAM_BASE_URL, GEMINI_API_KEY (upstream key), CLIENT_KEY (optional: required
// client key), GATEWAY_INTERNAL_STATS=1 (serves GET /internal/stats like the gateway).
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';

const PORT = Number(process.env.PORT ?? 0);
const UPSTREAM = process.env.UPSTREAM_BASE_URL ?? '';
const UPSTREAM_KEY = process.env.GEMINI_API_KEY ?? '';
const CLIENT_KEY = process.env.CLIENT_KEY ?? '';
const STATS = process.env.GATEWAY_INTERNAL_STATS === '1' || process.env.GATEWAY_INTERNAL_STATS === 'true';
const MAX_BUFFERED = 1024 * 1024;
if (!UPSTREAM || !UPSTREAM_KEY) throw new Error('bare-proxy: UPSTREAM_BASE_URL and GEMINI_API_KEY are required');

const pool = new Pool(UPSTREAM, {
  connections: null, // unlimited: one per concurrent request, like any HTTP/1.1 proxy
  pipelining: 1,
  keepAliveTimeout: 60_000,
  headersTimeout: 600_000,
  bodyTimeout: 300_000,
});

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

function filterHeaders(
  headers: Record<string, string | string[] | undefined>,
  drop: Set<string>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const conn = headers.connection;
  const named = new Set(
    (Array.isArray(conn) ? conn.join(',') : (conn ?? '')).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean),
  );
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || HOP_BY_HOP.has(name) || drop.has(name) || named.has(name)) continue;
    out[name] = v;
  }
  return out;
}

const REQ_DROP = new Set(['host', 'x-goog-api-key']);
const RES_DROP = new Set<string>();
// As in the gateway (src/health.ts): 1 ms resolution; the histogram includes that 1 ms interval.
const elDelay = STATS ? monitorEventLoopDelay({ resolution: 1 }) : null;
elDelay?.enable();

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length });
  res.end(buf);
}

function forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | http.IncomingMessage | null): void {
  const headers = filterHeaders(req.headers, REQ_DROP);
  headers['x-goog-api-key'] = UPSTREAM_KEY;
  if (body instanceof Buffer) delete headers['content-length']; // undici sets it from the buffer
  pool.request(
    {
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as 'GET',
      headers,
      body,
    },
    (err, data) => {
      if (err || !data) {
        if (!res.headersSent) sendJson(res, 502, { error: { code: 502, message: `upstream: ${err?.message ?? 'no response'}` } });
        else res.destroy();
        return;
      }
      res.writeHead(data.statusCode, filterHeaders(data.headers, RES_DROP));
      // pipe(), not pipeline(): pipeline allocates an AbortController (and a DOMException) per call.
      const body = data.body;
      body.on('error', () => res.destroy());
      res.on('close', () => {
        if (!body.readableEnded) body.destroy();
      });
      body.pipe(res);
    },
  );
}

const server = http.createServer({ keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/healthz') return sendJson(res, 200, { ok: true });
  if (elDelay && req.method === 'GET' && url.startsWith('/internal/stats')) {
    const body = {
      eventLoopDelayP99Ms: elDelay.count > 0 ? elDelay.percentile(99) / 1e6 : null,
      eventLoopDelayMaxMs: elDelay.count > 0 ? elDelay.max / 1e6 : null,
      rssBytes: process.memoryUsage.rss(),
    };
    if (url.includes('reset=1')) elDelay.reset();
    return sendJson(res, 200, body);
  }
  if (CLIENT_KEY && req.headers['x-goog-api-key'] !== CLIENT_KEY) {
    req.resume();
    return sendJson(res, 401, { error: { code: 401, message: 'bad key', status: 'UNAUTHENTICATED' } });
  }
  const len = Number(req.headers['content-length'] ?? NaN);
  if (req.method === 'GET' || req.method === 'HEAD' || len === 0) {
    req.resume();
    return forward(req, res, null);
  }
  if (!Number.isFinite(len) || len > MAX_BUFFERED) return forward(req, res, req);
  const buf = Buffer.allocUnsafe(len);
  let off = 0;
  req.on('data', (c: Buffer) => {
    if (off + c.length > len) return req.destroy();
    c.copy(buf, off);
    off += c.length;
  });
  req.on('end', () => (off === len ? forward(req, res, buf) : res.destroy()));
  req.on('error', () => res.destroy());
});

server.listen(PORT, '127.0.0.1', 2048, () => {
  const addr = server.address();
  process.stdout.write(`bare-proxy listening ${typeof addr === 'object' && addr ? addr.port : PORT}\n`);
});

const stop = (): void => {
  server.close();
  server.closeAllConnections();
  void pool.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
