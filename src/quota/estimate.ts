import type { Endpoint } from '../exchange/classify.js';
import { isObject } from '../values.js';

/** Google bills an image at 258 tokens; used for every inline or referenced media part (audio/video cost more — the hard cap covers that). */
const MEDIA_PART_TOKENS = 258;
/** Opaque bytes that are not prompt text: base64 payloads and thought signatures. */
const OPAQUE_KEYS = new Set(['data', 'thoughtSignature', 'thought_signature', 'signature']);
/** A media part carries its bytes in `data` (inline) or points at them with a URI. */
const MEDIA_KEYS = new Set(['data', 'fileUri', 'file_uri', 'uri']);

const GENERATING: ReadonlySet<Endpoint> = new Set(['generateContent', 'streamGenerateContent', 'interactions.create']);
const EMBEDDING: ReadonlySet<Endpoint> = new Set(['embedContent', 'batchEmbedContents']);

const positive = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.ceil(v) : 0);

/**
 * Tokens to reserve before forwarding, without calling upstream: the prompt at ~4 UTF-8 bytes per
 * token of its text (body bytes ÷ 4 when the gateway did not parse the body), plus the requested
 * maximum output (or `defaultOutput`), plus the thinking budget. Endpoints that report no usage cost 0.
 */
export function estimateTokens(endpoint: Endpoint, body: unknown, bodyBytes: number, defaultOutput: number): number {
  const generating = GENERATING.has(endpoint);
  if (!generating && !EMBEDDING.has(endpoint)) return 0;
  const prompt = isObject(body) ? Math.ceil(textBytes(body) / 4) : Math.ceil(bodyBytes / 4);
  if (!generating) return Math.max(1, prompt);
  const gc = isObject(body) ? (body.generationConfig ?? body.generation_config) : undefined;
  const config = isObject(gc) ? gc : {};
  const output = positive(config.maxOutputTokens ?? config.max_output_tokens) || defaultOutput;
  const tc = config.thinkingConfig ?? config.thinking_config;
  const thinking = isObject(tc) ? positive(tc.thinkingBudget ?? tc.thinking_budget) : 0;
  return prompt + output + thinking;
}

/** UTF-8 bytes of every string in the request except opaque payloads, plus a flat allowance per media part. */
function textBytes(root: unknown): number {
  let n = 0;
  // An explicit stack, not recursion: a client's body may nest deeper than the call stack goes.
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const v = todo.pop();
    if (typeof v === 'string') n += Buffer.byteLength(v);
    else if (Array.isArray(v)) for (const x of v) todo.push(x);
    else if (isObject(v)) {
      for (const k in v) {
        if (MEDIA_KEYS.has(k)) n += MEDIA_PART_TOKENS * 4;
        if (!OPAQUE_KEYS.has(k)) todo.push(v[k]);
      }
    }
  }
  return n;
}
