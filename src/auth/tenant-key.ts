import { GatewayError } from '../errors.js';
import { safeDecode } from '../values.js';

interface TenantKeySource {
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
    // Runs on every request over every header: lower-case only names of the right length.
    const raw = rawHeaders[i]!;
    if (raw.length === 14 && raw.toLowerCase() === 'x-goog-api-key') found.push(rawHeaders[i + 1]!.trim());
    else if (raw.length === 13 && raw.toLowerCase() === 'authorization') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(rawHeaders[i + 1]!);
      if (m) found.push(m[1]!);
    }
  }
  // The usual request: one key in one header, no query string.
  if (found.length <= 1 && search.length <= 1) return { key: found[0] || undefined, search: '' };
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
