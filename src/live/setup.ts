import { isObject, type Json } from '../values.js';

/** Close codes and reasons as Google sends them, so clients see the same thing through the gateway. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  invalid: 1007,
  policy: 1008,
  internal: 1011,
} as const;
export const INVALID_ARGUMENT_REASON = 'Request contains an invalid argument.';
/** The gateway's own close (1008) at a gateway ephemeral token's expireTime. */
export const TOKEN_EXPIRED_REASON = 'Ephemeral token expired.';

/** A WebSocket close reason carries at most 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= 123) return text;
  let cut = 120;
  while (cut > 0 && (buf[cut]! & 0xc0) === 0x80) cut--;
  return `${buf.subarray(0, cut).toString('utf8')}...`;
}

/**
 * A client text frame must be a JSON object. The first (setup) frame is parsed whole; later frames
 * (audio chunks of 100+ KB) only get a structural check — an object's first and last non-space
 * bytes — so a stray text line is refused without parsing every chunk.
 */
export function looksLikeJsonObject(data: Buffer): boolean {
  let i = 0;
  let j = data.length - 1;
  while (i <= j && isSpace(data[i]!)) i++;
  while (j >= i && isSpace(data[j]!)) j--;
  return j > i && data[i] === 0x7b && data[j] === 0x7d;
}

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

export type SetupParse = { ok: true; setup: Json; message: Json; model: string | null } | { ok: false };

/** The first client message: `{"setup":{"model":"models/…",…}}`. */
export function parseSetup(data: Buffer): SetupParse {
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    return { ok: false };
  }
  if (!isObject(msg) || !isObject(msg.setup)) return { ok: false };
  const model = typeof msg.setup.model === 'string' && msg.setup.model !== '' ? msg.setup.model.replace(/^models\//, '') : null;
  return { ok: true, setup: msg.setup, message: msg, model };
}

/**
 * What an ephemeral token's constraints make of a client's setup, as Google applies them: no
 * constraint leaves the client's setup alone; a constrained setup without a field mask replaces the
 * client's entirely; with a field mask, the masked fields (`a` or `a.b`) and the model come from the
 * token and the rest from the client. Locked fields are overridden, not refused (Google ignores a
 * client's different value). Returns null when the client's setup already complies.
 */
export function constrainSetup(client: Json, constraint: Json | null, fieldMask: string | null): Json | null {
  if (!constraint) return null;
  let out: Json;
  if (fieldMask === null) out = structuredClone(constraint);
  else {
    out = structuredClone(client);
    const paths = ['model', ...fieldMask.split(',').map((p) => p.trim()).filter(Boolean)];
    for (const p of paths) copyPath(constraint, out, p.split('.'));
  }
  return JSON.stringify(out) === JSON.stringify(client) ? null : out;
}

function copyPath(from: Json, to: Json, path: string[]): void {
  let src: unknown = from;
  let dst: Json = to;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    src = isObject(src) ? src[k] : undefined;
    if (!isObject(dst[k])) dst[k] = {};
    dst = dst[k] as Json;
  }
  const last = path[path.length - 1]!;
  const value = isObject(src) ? src[last] : undefined;
  if (value === undefined) delete dst[last];
  else dst[last] = structuredClone(value);
}
