import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { frameData, piecesInclude, SseScanner, type SseFrame } from './sse.js';
import { extractUsage, type Usage, type UsageFamily } from './usage.js';
import { imageCounter, TAIL_BYTES, usageFromTail } from './tail-usage.js';

export interface MeterResult {
  usage: Usage | null;
  model: string | null;
  sse: boolean;
  frames: number;
  /** An error arrived as a frame inside a 200 stream. */
  errorFrame: boolean;
  bareJsonLines: number;
  /** With `capture`: the parsed JSON body, or the first SSE frame's data (interaction.created carries the id). */
  head?: unknown;
  /** The parsed object the usage came from (telemetry reads finish reasons from it without parsing again). */
  source?: unknown;
  /** Upstream's content-encoding when the gateway cannot decode it (zstd on Node 20): the body was not metered. */
  unreadableEncoding?: string;
}

export interface Meter {
  /** Sees every body byte exactly as forwarded; never throws. */
  push(chunk: Buffer): void;
  /** Called once when the body ended, failed or was aborted: usage is the last seen. */
  finish(): Promise<MeterResult>;
  /** True between SSE frames: the only place a gateway-made frame can be appended without corrupting one. */
  atBoundary(): boolean;
}

interface MeterOptions {
  family: UsageFamily | null;
  /** Keep the parsed body / first frame in `head` (responses that create resources). */
  capture?: boolean;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  /** Non-SSE bodies are kept whole to be parsed at the end, up to this size. */
  maxJsonBytes: number;
}

const USAGE_METADATA = Buffer.from('"usageMetadata"');
const USAGE = Buffer.from('"usage"');
const TOTAL_USAGE = Buffer.from('"total_usage"');
const COMPLETED = new Set(['interaction.completed', 'interaction.complete']);

/** Whether an SSE frame can hold a usage object (a byte search: no parse unless it can). */
export function frameMayCarryUsage(family: UsageFamily, pieces: Buffer[]): boolean {
  if (family === 'generate' || family === 'cache') return piecesInclude(pieces, USAGE_METADATA);
  return piecesInclude(pieces, USAGE) || piecesInclude(pieces, TOTAL_USAGE);
}

/** What an exchange that never got an upstream body reports. */
export const NO_METER: MeterResult = { usage: null, model: null, sse: false, frames: 0, errorFrame: false, bareJsonLines: 0 };

/**
 * Creates the meter for one response. Bytes are never altered here; the meter keeps only what it
 * needs (views over the last usage-bearing frame, or the JSON body) and parses JSON once, at the end.
 */
export function createMeter(opts: MeterOptions): Meter {
  const decoder = decoderFor(opts.contentEncoding);
  // Parsing compressed bytes would fail quietly: say instead that this body could not be read.
  if (decoder === undefined) return unreadable(opts.contentEncoding!);
  if (!opts.family && !opts.capture) return { push() {}, finish: async () => NO_METER, atBoundary: () => false };
  const capture = opts.capture === true;
  const inner = /^text\/event-stream/i.test(opts.contentType ?? '')
    ? sseMeter(opts.family, capture)
    : jsonMeter(opts.family, capture, opts.maxJsonBytes);
  return decoder ? decoded(inner, decoder()) : inner;
}

/** A body in an encoding the gateway cannot decode: nothing is kept, and the result names the encoding. */
function unreadable(encoding: string): Meter {
  // Upstream's header value, bounded: it ends up in a log line.
  const result: MeterResult = { ...NO_METER, unreadableEncoding: encoding.slice(0, 40) };
  return { push() {}, finish: async () => result, atBoundary: () => false };
}

function sseMeter(family: UsageFamily | null, capture: boolean): Meter {
  let best: Buffer[] | null = null;
  let fallback: Buffer[] | null = null;
  let firstFrame: Buffer[] | null = null;
  let errorFrame = false;
  const onFrame = (f: SseFrame): void => {
    if (f.isError || f.event === 'error') {
      errorFrame = true;
      return;
    }
    if (capture && firstFrame === null) firstFrame = f.pieces;
    if (family === null) return;
    if (family === 'generate' || family === 'cache') {
      // The previous usage frame is kept too: if the last one is corrupt, its cumulative usage is the best lower bound.
      if (frameMayCarryUsage(family, f.pieces)) {
        fallback = best;
        best = f.pieces;
      }
    } else if (f.event !== null && COMPLETED.has(f.event)) {
      best = f.pieces;
    } else if (frameMayCarryUsage(family, f.pieces)) {
      fallback = f.pieces;
    }
  };
  const scanner = new SseScanner(onFrame);
  return {
    push(chunk) {
      scanner.push(chunk);
    },
    async finish() {
      scanner.end();
      let got = best && family ? extractQuietly(family, parseQuietly(frameData(best))) : { usage: null, model: null };
      if (!got.usage && fallback && family) got = extractQuietly(family, parseQuietly(frameData(fallback)));
      const head = firstFrame ? { head: parseQuietly(frameData(firstFrame)) } : {};
      return { ...got, sse: true, frames: scanner.frames, errorFrame, bareJsonLines: scanner.bareJsonLines, ...head };
    },
    atBoundary: () => scanner.atBoundary(),
  };
}

function jsonMeter(family: UsageFamily | null, capture: boolean, maxBytes: number): Meter {
  const chunks: Buffer[] = [];
  let size = 0;
  let whole = true;
  let images: ReturnType<typeof imageCounter> | null = null;
  return {
    push(chunk) {
      if (images) images.push(chunk);
      chunks.push(chunk);
      size += chunk.length;
      if (size <= maxBytes) return;
      // Too large to parse: keep only the tail, where a generateContent body has its usage; an Imagen answer's images are counted as they pass.
      if (whole && family === 'predict') {
        images = imageCounter();
        for (const c of chunks) images.push(c);
      }
      whole = false;
      let drop = 0;
      while (drop < chunks.length - 1 && size - chunks[drop]!.length >= TAIL_BYTES) size -= chunks[drop++]!.length;
      if (drop > 0) chunks.splice(0, drop);
    },
    async finish() {
      if (images) return { ...NO_METER, usage: images.usage() };
      if (!whole) return family === 'generate' ? { ...NO_METER, ...usageFromTail(Buffer.concat(chunks, size)) } : NO_METER;
      const bytes = Buffer.concat(chunks, size);
      const body = parseQuietly(bytes.toString('utf8'));
      // A streamed JSON array cut short (upstream reset, client gone) does not parse, but its complete
      // elements already reported cumulative usage: bill the last of them, as an SSE stream would.
      if (body === undefined && family === 'generate') return { ...NO_METER, ...usageFromTail(bytes) };
      const got = family ? extractQuietly(family, body) : { usage: null, model: null };
      return { ...NO_METER, ...got, ...(capture ? { head: body } : {}) };
    },
    atBoundary: () => false,
  };
}

/** One JSON.parse per response; a malformed body is simply not metered. */
function parseQuietly(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function extractQuietly(family: UsageFamily, body: unknown) {
  return body === undefined ? { usage: null, model: null } : extractUsage(family, body);
}

/** Usage in one frame's data (the hard cap reads every usage frame); malformed JSON is no usage. */
export function usageOfText(family: UsageFamily, text: string): Usage | null {
  return extractQuietly(family, parseQuietly(text)).usage;
}

/**
 * How to decode a content-encoding: null for none (identity), undefined when Node cannot (zstd,
 * stacked codings such as `gzip, br`, anything unknown).
 */
function decoderFor(encoding: string | undefined): (() => Transform) | null | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case undefined:
    case '':
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      return createGunzip;
    case 'deflate':
      return createInflate;
    case 'br':
      return createBrotliDecompress;
    default:
      return undefined;
  }
}

/** Upstream may compress; the client gets the compressed bytes untouched, the meter a decompressed copy. */
function decoded(inner: Meter, decoder: Transform): Meter {
  let failed = false;
  decoder.on('data', (c: Buffer) => inner.push(c));
  const done = new Promise<void>((resolve) => {
    decoder.on('end', resolve);
    decoder.on('error', () => {
      failed = true;
      resolve();
    });
  });
  return {
    push(chunk) {
      if (!failed) decoder.write(chunk);
    },
    async finish() {
      decoder.end();
      await done;
      return inner.finish();
    },
    atBoundary: () => false,
  };
}
