import type { IncomingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 connection-specific headers, plus host (undici sets its own). */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade', 'host',
]);
/**
 * Response headers that describe upstream's origin, not the gateway's: `alt-svc` (Google sends
 * `h3=":443"`) would send clients to try HTTP/3 on the gateway's host, where nothing answers it;
 * `set-cookie` is state Google keeps for the gateway's own upstream identity, which no tenant should
 * hold, and a browser would file it under the gateway's host (the API needs no cookie: keys authenticate).
 */
const ORIGIN_BOUND = new Set(['alt-svc', 'set-cookie']);
/** Where a tenant key can travel; all are stripped before the upstream key is added. */
const KEY_CARRIERS = new Set(['x-goog-api-key', 'authorization']);

/** Names listed in `Connection:` are hop-by-hop for this message too. */
function connectionListed(rawHeaders: string[]): Set<string> | null {
  let out: Set<string> | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const t of rawHeaders[i + 1]!.split(',')) (out ??= new Set()).add(t.trim().toLowerCase());
  }
  return out;
}

/**
 * Request headers for upstream as a flat [name, value, …] list: everything the client sent (in
 * order, original case, empty values included) minus hop-by-hop headers and key carriers, plus the
 * upstream key. content-length is dropped when the gateway sends a buffered body of its own length.
 * `identity` asks upstream not to compress, for streams the gateway may have to end between frames;
 * otherwise the client's Accept-Encoding goes on without zstd (withoutZstd).
 * `extra` ([name, value, …], lower-case names) replaces the client's headers of those names (the gateway's trace context).
 */
export function upstreamRequestHeaders(rawHeaders: string[], upstreamKey: string, dropContentLength: boolean, identity = false, extra: string[] | null = null): string[] {
  const listed = connectionListed(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || KEY_CARRIERS.has(lower) || listed?.has(lower)) continue;
    if (dropContentLength && lower === 'content-length') continue;
    let value = rawHeaders[i + 1]!;
    if (lower === 'accept-encoding') {
      if (identity) continue;
      if (MAY_ALLOW_ZSTD.test(value)) value = withoutZstd(value);
    }
    if (extra !== null && namedIn(extra, lower)) continue;
    out.push(name, value);
  }
  if (identity) out.push('accept-encoding', 'identity');
  if (extra !== null) out.push(...extra);
  out.push('x-goog-api-key', upstreamKey);
  return out;
}

/** Names zstd, or `*` (any coding, zstd included); most clients send `gzip, deflate[, br]` and skip the rewrite. */
const MAY_ALLOW_ZSTD = /zstd|\*/i;

/**
 * An Accept-Encoding value upstream may not answer in zstd: Node 20 cannot decode zstd, and an
 * answer the gateway cannot read is neither metered nor searched for an echoed key. zstd entries
 * are dropped (the others keep their q-values), `*` gets an explicit `zstd;q=0`, and an empty
 * result becomes `identity`: no header at all would let upstream pick any coding.
 */
export function withoutZstd(value: string): string {
  const kept: string[] = [];
  let any = false;
  for (const part of value.split(',')) {
    const coding = part.split(';', 1)[0]!.trim().toLowerCase();
    if (coding === 'zstd' || coding === '') continue;
    if (coding === '*') any = true;
    kept.push(part.trim());
  }
  if (any) kept.push('zstd;q=0');
  return kept.length ? kept.join(', ') : 'identity';
}

function namedIn(pairs: string[], lower: string): boolean {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === lower) return true;
  return false;
}

/** Response headers for the client: upstream's minus hop-by-hop and origin-bound ones; bodies are passed through encoded. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = typeof headers.connection === 'string' ? new Set(headers.connection.split(',').map((s) => s.trim().toLowerCase())) : null;
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || HOP_BY_HOP.has(name) || ORIGIN_BOUND.has(name) || listed?.has(name)) continue;
    out[name] = v;
  }
  return out;
}

/** The first value of a header that may have been sent more than once. */
export function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
