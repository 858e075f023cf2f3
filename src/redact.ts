import { safeDecode } from './values.js';

/**
 * Last line of defence against credentials in text the gateway emits (log lines, upstream error
 * bodies it relays): exact known secrets, anything shaped like a Google or gateway key, and the
 * value of any `key=` query parameter. Callers never put secrets in text on purpose; this catches
 * what upstream or a library message echoes back.
 */
const KEY_SHAPES = /AIza[0-9A-Za-z_-]{30,}|ggwt?_[A-Za-z0-9_-]{20,}/g;
const KEY_PARAM = /([?&](?:key|api_key|apiKey|access_token)=)[^&#\s"'<>\\]+/g;
const REDACTED = '[redacted]';

/** Cheap pre-check: the patterns below can only match text containing one of these. */
const MAY_HOLD_KEY = /AIza|ggwt?_|[kK]ey=|access_token=/;
const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f]/;

/** Returns text with every secret replaced by `[redacted]`; the input is returned as is when clean. */
export function redactSecrets(text: string, known: readonly string[] = []): string {
  let out = text;
  for (const secret of known) {
    if (secret.length < 8) continue;
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    // As it appears inside a JSON string (quotes and backslashes escaped).
    if (NEEDS_JSON_ESCAPE.test(secret)) {
      const escaped = JSON.stringify(secret).slice(1, -1);
      if (out.includes(escaped)) out = out.split(escaped).join(REDACTED);
    }
  }
  // Runs on every response header and log line: skip the regex passes for the common clean case.
  if (!MAY_HOLD_KEY.test(out)) return out;
  return out.replace(KEY_SHAPES, REDACTED).replace(KEY_PARAM, `$1${REDACTED}`);
}

/**
 * Every password a connection URL (postgres://, redis://) carries, for the redaction list: the
 * user-info one, raw and decoded as drivers see it, and a `?password=` parameter, which both pg and
 * ioredis also read. Empty when there is none.
 */
export function urlPasswords(url: string): string[] {
  try {
    const u = new URL(url);
    const found = [u.password, safeDecode(u.password), ...u.searchParams.getAll('password')];
    return [...new Set(found.filter((p) => p !== ''))];
  } catch {
    return [];
  }
}

/** A URL as it may be printed: any user info (a collector's basic-auth credentials) replaced by `***`. */
export function urlWithoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '***';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
