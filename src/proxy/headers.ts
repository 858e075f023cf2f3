import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.js';
import { safeDecode } from '../values.js';

/** RFC 9110 §7.6.1 connection-specific headers, plus host (undici sets its own). */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade', 'host',
]);
/** Where a tenant key can travel; all are stripped before the upstream key is added. */
const KEY_CARRIERS = new Set(['x-goog-api-key', 'authorization']);

export interface TenantKeySource {
  key: string | undefined;
  /** The query string with every `key` parameter removed, other bytes untouched ('' or '?…'). */
  search: string;
}

/**
 * Finds the tenant key in `x-goog-api-key`, `?key=` or `Authorization: Bearer`. Several
 * different values (or a repeated header) are ambiguous and refused rather than guessed at.
 */
export function extractTenantKey(rawHeaders: string[], search: string): TenantKeySource {
  const found: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name === 'x-goog-api-key') found.push(rawHeaders[i + 1]!.trim());
    else if (name === 'authorization') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(rawHeaders[i + 1]!);
      if (m) found.push(m[1]!);
    }
  }
  const { key: queryKeys, rest } = splitKeyParam(search);
  found.push(...queryKeys);
  const distinct = new Set(found.filter((k) => k !== ''));
  if (found.length > 1 && (distinct.size > 1 || countHeader(rawHeaders, 'x-goog-api-key') > 1)) {
    throw new GatewayError('invalid_argument', 'Conflicting API keys: send exactly one of x-goog-api-key, ?key= or Authorization: Bearer.');
  }
  return { key: distinct.values().next().value, search: rest };
}

function countHeader(rawHeaders: string[], lower: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === lower) n++;
  return n;
}

/** Removes `key` parameters without re-encoding the others (upstream sees the rest byte for byte). */
export function splitKeyParam(search: string): { key: string[]; rest: string } {
  if (search.length <= 1) return { key: [], rest: '' };
  const keep: string[] = [];
  const key: string[] = [];
  for (const part of search.slice(1).split('&')) {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (safeDecode(name) === 'key') key.push(safeDecode(eq === -1 ? '' : part.slice(eq + 1).replace(/\+/g, ' ')));
    else keep.push(part);
  }
  return { key, rest: keep.length ? `?${keep.join('&')}` : '' };
}

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
