import type { IncomingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 connection-specific headers, plus host (undici sets its own). */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade', 'host',
]);
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
 * `identity` asks upstream not to compress, for streams the gateway may have to end between frames.
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
    if (identity && lower === 'accept-encoding') continue;
    if (extra !== null && namedIn(extra, lower)) continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  if (identity) out.push('accept-encoding', 'identity');
  if (extra !== null) out.push(...extra);
  out.push('x-goog-api-key', upstreamKey);
  return out;
}

function namedIn(pairs: string[], lower: string): boolean {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === lower) return true;
  return false;
}

/** Response headers for the client: upstream's minus hop-by-hop ones; bodies are passed through encoded. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = typeof headers.connection === 'string' ? new Set(headers.connection.split(',').map((s) => s.trim().toLowerCase())) : null;
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = v;
  }
  return out;
}

/** The first value of a header that may have been sent more than once. */
export function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
