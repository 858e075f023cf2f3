// Types and reply helpers shared by the fake upstream's route modules.
import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import { writeFrames } from './sse-writer.js';

export interface FakeUpstreamOptions {
  /** Required value of x-goog-api-key. */
  upstreamKey: string;
  /** More accepted upstream keys (a project's own key, bring-your-own-key tests). */
  moreUpstreamKeys?: () => string[];
  /** More accepted keys. Like Google, each key is its own project: files, caches and batches are per key. */
  extraKeys?: string[];
  /**
   * Lets a test make one key misbehave: 'rate-limited' answers Google's 429 with RetryInfo (34.4s),
   * 'quota-403' a 403 RESOURCE_EXHAUSTED, 'invalid' 400 API_KEY_INVALID. Checked before routing.
   */
  refuseKey?: (key: string, rec: RecordedRequest) => 'rate-limited' | 'quota-403' | 'invalid' | null;
  /** Tenant keys / admin tokens: any of them in the URL, a header value or the body is a violation (answered 400). */
  forbiddenSecrets?: () => string[];
  /** SSE line ending, default '\r\n' (Google's live framing). */
  eol?: '\r\n' | '\n';
  /** Seed for the PRNG that picks split offsets inside frames. */
  splitSeed?: number;
  /** Delay between frames; 0 still puts a macrotask between them. */
  frameDelayMs?: number;
  /** Awaited before frame `index` is written; a rejection kills the connection mid-stream. */
  beforeFrame?: (index: number, req: RecordedRequest) => Promise<void> | void;
  /** GETs that find a batch still running before it is final (default 1). */
  batchRunningPolls?: number;
  /** How a batch that is not cancelled ends (default SUCCEEDED); EXPIRED completes the first half of its requests. */
  batchFinalState?: 'SUCCEEDED' | 'EXPIRED';
  /** gzip unary JSON bodies when the request's accept-encoding allows it. */
  gzipUnary?: boolean;
  /** zstd-encode unary JSON bodies when the request's accept-encoding allows it, in preference to gzip (as browsers' servers do). */
  zstdUnary?: boolean;
  /**
   * Fault injection: sees every request that passed the key checks before the fixture routes do;
   * returns true when it answered (or deliberately never will, or destroyed the socket).
   */
  intercept?: (ctx: RouteContext) => boolean | Promise<boolean>;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  /** The client went away before the response was complete. */
  closedEarly: boolean;
  /** Resolves when the response ended or the socket closed. */
  finished: Promise<void>;
  /** Status code the fake answered with (0 until the head is written). */
  status: number;
}

export interface FakeUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  violations: string[];
  close(): Promise<void>;
}

export interface StoredFile {
  meta: Record<string, unknown>;
  bytes: Buffer;
}

export interface StoredBatch {
  op: Record<string, unknown>;
  requests: unknown[];
  /** GETs answered so far: the batch is RUNNING on the first (batchRunningPolls) and final after. */
  polls: number;
  /** `:cancel` was called: the next GET finds it CANCELLED with the first half of its requests done. */
  cancelled?: boolean;
  /** Created from an input file: results go to a responses file (`resultsFile`) rather than inline. */
  toFile?: boolean;
  resultsFile?: string;
}

/** One Google project's resources: the fake keeps one per upstream key. */
export interface UpstreamState {
  files: Map<string, StoredFile>;
  uploads: Map<string, { version: string; meta: Record<string, unknown>; chunks: Buffer[]; size: number }>;
  cachedContents: Map<string, Record<string, unknown>>;
  batches: Map<string, StoredBatch>;
  nextId(prefix: string): string;
}

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  rec: RecordedRequest;
  url: URL;
  method: string;
  /** API version segment as sent (v1, v1beta, v1alpha, ...). */
  version: string;
  /** Path came in under /upload/. */
  upload: boolean;
  /** Path after the version, e.g. "models/gemini-2.5-flash:generateContent". */
  rest: string;
  opts: FakeUpstreamOptions;
  /** This server's own origin, e.g. http://127.0.0.1:41234. */
  baseUrl: string;
  state: UpstreamState;
  /** The x-goog-api-key this request came with (already checked). */
  key: string;
  rng: () => number;
}

const GOOGLE_HEADERS: Record<string, string> = {
  server: 'scaffolding on HTTPServer2',
  'server-timing': 'gfet4t7; dur=42',
  vary: 'Origin, X-Origin, Referer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'x-xss-protection': '0',
};
export const JSON_TYPE = 'application/json; charset=UTF-8';

function accepts(req: http.IncomingMessage, wanted: 'gzip' | 'zstd'): boolean {
  const ae = String(req.headers['accept-encoding'] ?? '');
  return ae.split(',').some((t) => {
    const [coding, ...params] = t.trim().split(';');
    return coding?.trim() === wanted && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}

/**
 * `bytes` as a valid zstd frame (RFC 8878) of raw, uncompressed blocks: Node 20 has no zstd
 * encoder, and a real zstd decoder (the `zstd` CLI) reads this one.
 */
export function zstdFrame(bytes: Buffer): Buffer {
  const BLOCK = 128 * 1024;
  // Magic number; frame header descriptor 0 (no content size, no checksum, no dictionary); window 2^(10+7) = 128 KiB.
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])];
  for (let at = 0; at === 0 || at < bytes.length; at += BLOCK) {
    const block = bytes.subarray(at, at + BLOCK);
    const last = at + BLOCK >= bytes.length ? 1 : 0;
    // Block header, 3 bytes little-endian: last-block bit, type 0 (raw), size.
    const header = (block.length << 3) | last;
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), block);
  }
  return Buffer.concat(parts);
}

/** Strings are sent verbatim (fixture bytes); objects are pretty-printed like Google does. */
export function sendJson(
  ctx: RouteContext,
  status: number,
  body: string | object,
  extraHeaders: Record<string, string> = {},
): void {
  let bytes: Buffer = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n', 'utf8');
  const headers: Record<string, string> = { ...GOOGLE_HEADERS, 'content-type': JSON_TYPE, ...extraHeaders };
  if (ctx.opts.zstdUnary && accepts(ctx.req, 'zstd') && bytes.length > 0) {
    bytes = zstdFrame(bytes);
    headers['content-encoding'] = 'zstd';
  } else if (ctx.opts.gzipUnary && accepts(ctx.req, 'gzip') && bytes.length > 0) {
    bytes = gzipSync(bytes);
    headers['content-encoding'] = 'gzip';
  }
  headers['content-length'] = String(bytes.length);
  ctx.rec.status = status;
  ctx.res.writeHead(status, headers);
  ctx.res.end(bytes);
}

export function sendBytes(
  ctx: RouteContext,
  status: number,
  contentType: string,
  bytes: Buffer,
  extraHeaders: Record<string, string> = {},
): void {
  ctx.rec.status = status;
  const length = String(bytes.length);
  ctx.res.writeHead(status, { ...GOOGLE_HEADERS, 'content-type': contentType, ...extraHeaders, 'content-length': length });
  ctx.res.end(bytes);
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** google.rpc.Status error, as the generateContent family returns them. */
export function googleError(ctx: RouteContext, code: number, message: string, details?: unknown[]): void {
  const error: Record<string, unknown> = { code, message, status: STATUS_NAMES[code] ?? 'UNKNOWN' };
  if (details) error.details = details;
  sendJson(ctx, code, { error });
}

/** Interactions API error: `code` is a string slug. */
export function interactionError(
  ctx: RouteContext,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(ctx, status, { error: { code, message } }, headers);
}

export async function streamFrames(
  ctx: RouteContext,
  status: number,
  contentType: string,
  frames: string[],
): Promise<void> {
  ctx.rec.status = status;
  const headers: Record<string, string> = { ...GOOGLE_HEADERS, 'content-type': contentType };
  if (contentType.startsWith('text/event-stream')) headers['content-disposition'] = 'attachment';
  ctx.res.writeHead(status, headers);
  const { beforeFrame } = ctx.opts;
  await writeFrames(ctx.res, frames, {
    rng: ctx.rng,
    frameDelayMs: ctx.opts.frameDelayMs ?? 0,
    beforeFrame: beforeFrame ? (i) => beforeFrame(i, ctx.rec) : undefined,
  });
}

export function parseJsonBody(ctx: RouteContext): any {
  if (ctx.rec.body.length === 0) return {};
  try {
    const body: unknown = JSON.parse(ctx.rec.body.toString('utf8'));
    // Google's JSON parser has a nesting limit: a body past it is invalid there (the stringify throws).
    JSON.stringify(body);
    return body;
  } catch {
    return undefined;
  }
}
