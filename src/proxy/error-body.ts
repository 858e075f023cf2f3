import type { IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { redactSecrets } from '../redact.js';

type Headers = Record<string, string | string[]>;

/** An answer held only to decide on a retry is relayed as it is past this size: too large to be about a key. */
export const HOLD_LIMIT = 64 * 1024;
/**
 * An error answer is never relayed unsearched: one larger than this is not relayed at all, and the
 * client gets the gateway's own 502. Google's errors are a few KB; the bound is what one response
 * may hold in memory.
 */
export const SCRUB_LIMIT = 1024 * 1024;

/** Response header values with any echoed credential (upstream key, `key=` parameter) scrubbed. */
export function scrubHeaders(headers: Headers, secrets: readonly string[]): Headers {
  for (const name in headers) {
    const v = headers[name]!;
    headers[name] = Array.isArray(v) ? v.map((x) => redactSecrets(x, secrets)) : redactSecrets(v, secrets);
  }
  return headers;
}

/** Encodings a held body can be decoded from to be searched (decodeQuietly). */
const DECODABLE = new Set(['identity', 'gzip', 'x-gzip', 'deflate', 'br']);

/**
 * Whether an upstream answer is held back until complete so that a credential it echoes (an error
 * message quoting the key, an HTML error page quoting the URL) can be scrubbed before the client
 * sees it: errors only, in an encoding the gateway can decode to search (up to SCRUB_LIMIT).
 */
export function scrubbable(status: number, headers: IncomingHttpHeaders): boolean {
  const encoding = headers['content-encoding'];
  return status >= 400 && (encoding === undefined || DECODABLE.has(String(encoding).trim().toLowerCase()));
}

/**
 * A complete held error body with echoed credentials scrubbed. A compressed one is searched
 * decompressed, and only when it held a secret is it sent decompressed (its content-encoding
 * removed from `headers`): a clean body keeps upstream's exact bytes. Null when a compressed one
 * cannot be searched (corrupt, or inflating past 8 × SCRUB_LIMIT): it must not be relayed.
 */
export function scrubHeld(raw: Buffer, headers: IncomingHttpHeaders, secrets: readonly string[]): Buffer | null {
  const encoding = headers['content-encoding'];
  if (encoding === undefined || String(encoding).trim().toLowerCase() === 'identity') return scrubBody(raw, secrets);
  const plain = decodeQuietly(raw, encoding);
  if (plain === null) return null;
  const clean = scrubBody(plain, secrets);
  if (clean === plain) return raw;
  delete headers['content-encoding'];
  return clean;
}

/**
 * The body with echoed credentials scrubbed. Compared as latin1, which maps bytes 1:1, so a body
 * without secrets comes back as the very same buffer.
 */
export function scrubBody(raw: Buffer, secrets: readonly string[]): Buffer {
  const text = raw.toString('latin1');
  const clean = redactSecrets(text, secrets);
  return clean === text ? raw : Buffer.from(clean, 'latin1');
}

/** A held body decompressed, to be searched or judged; null when corrupt or inflating past 8 × SCRUB_LIMIT. */
export function decodeQuietly(body: Buffer, encoding: string | string[] | undefined): Buffer | null {
  const e = (Array.isArray(encoding) ? encoding[0] : encoding)?.trim().toLowerCase();
  const opts = { maxOutputLength: 8 * SCRUB_LIMIT };
  try {
    if (e === 'gzip' || e === 'x-gzip') return gunzipSync(body, opts);
    if (e === 'deflate') return inflateSync(body, opts);
    if (e === 'br') return brotliDecompressSync(body, opts);
  } catch {
    return null;
  }
  return body;
}
