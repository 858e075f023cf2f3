/**
 * Long enough for any Gemini resource path (tunedModels/…:method, files/…, cachedContents/…);
 * anything longer is an attack or a bug, and refusing it keeps it out of logs and upstream.
 */
export const MAX_PATH_BYTES = 2048;
/** Double (and triple) encoding: what one decoding hop leaves, the next one may decode again. */
const DECODE_ROUNDS = 3;
const FORBIDDEN_IN_SEGMENT = /[/\\\x00-\x1f\x7f]/;
const PLAIN_PATH = /^(?:\/[A-Za-z0-9\-._~!$&'()*+,;=:@]+)+$/;
const DOT_SEGMENT = /\/\.\.?(?=\/|$)/;

/**
 * Pure: why a raw request target must be refused, or null when it is safe. The router normalises
 * paths (WHATWG URL: dot segments, `%2e`, backslashes) while the data plane forwards the raw path,
 * so a target is accepted only when both see the same thing: origin-form, already normal, and with
 * no segment that any later decoding hop could turn into a separator or a dot segment.
 */
export function requestTargetProblem(rawUrl: string): string | null {
  if (!rawUrl.startsWith('/') || rawUrl.startsWith('//')) {
    return 'Request target must be a path starting with a single "/" (no absolute URLs).';
  }
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (path.length > MAX_PATH_BYTES) return `Request path is longer than ${MAX_PATH_BYTES} bytes.`;
  // Every request passes here: a path of plain segments (RFC 3986 pchars without '%', no empty,
  // '.' or '..' segment) is already what the URL parser would make of it, so skip parsing it.
  if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path)) return null;
  let normal: string;
  try {
    normal = new URL(rawUrl, 'http://gateway.invalid').pathname;
  } catch {
    return 'Malformed request target.';
  }
  if (normal !== path) return 'Request path is not in normal form (dot segments, backslashes, fragments or unencoded characters).';
  for (const segment of path.split('/')) {
    let s = segment;
    for (let round = 0; round < DECODE_ROUNDS && s.includes('%'); round++) {
      try {
        s = decodeURIComponent(s);
      } catch {
        return 'Malformed percent-encoding in the request path.';
      }
      if (s === '.' || s === '..' || FORBIDDEN_IN_SEGMENT.test(s)) {
        return 'Request path hides a separator, a dot segment or a control character behind percent-encoding.';
      }
    }
  }
  return null;
}
