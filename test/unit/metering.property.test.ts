// Property tests over the metering code: every fixture, cut into any chunks, meters identically
// and passes through byte for byte; and no input whatsoever makes the meter throw.
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createMeter, type MeterResult } from '../../src/metering/meter.js';
import { SseScanner } from '../../src/metering/sse.js';
import type { UsageFamily } from '../../src/metering/usage.js';
import {
  FIXTURES_DIR,
  finalGenerateUsage,
  finalInteractionUsage,
  framedGenerate,
  framedGenerateArray,
  framedInteraction,
  generateFrames,
  interactionFrames,
  type Eol,
} from '../support/fixtures.js';

interface Case {
  name: string;
  family: UsageFamily;
  contentType: string;
  bytes: Buffer;
  frames: number;
  /** Each SSE frame as the scanner must hand it out (a CRLF's final LF is not part of a frame view). */
  frameTexts: string[];
  usage: unknown;
}

const asViews = (frames: string[], eol: Eol) => (eol === '\r\n' ? frames.map((f) => f.slice(0, -1)) : frames);

const names = (folder: string) =>
  readdirSync(path.join(FIXTURES_DIR, folder))
    .filter((f) => f.endsWith('.chunks.txt'))
    .map((f) => f.slice(0, -'.chunks.txt'.length));

const CASES: Case[] = [];
for (const eol of ['\r\n', '\n'] as Eol[]) {
  for (const name of names('generate')) {
    const frames = generateFrames(name, eol);
    CASES.push({ name: `${name} ${JSON.stringify(eol)}`, family: 'generate', contentType: 'text/event-stream', bytes: framedGenerate(name, eol), frames: frames.length, frameTexts: asViews(frames, eol), usage: finalGenerateUsage(name, true) });
  }
  for (const name of names('interactions')) {
    const frames = interactionFrames(name, eol);
    CASES.push({ name: `${name} ${JSON.stringify(eol)}`, family: 'interactions', contentType: 'text/event-stream', bytes: framedInteraction(name, eol), frames: frames.length, frameTexts: asViews(frames, eol), usage: finalInteractionUsage(name, true) });
  }
}
// streamGenerateContent without alt=sse: one JSON array, parsed whole at the end.
for (const name of names('generate')) {
  CASES.push({ name: `${name} (JSON array)`, family: 'generate', contentType: 'application/json', bytes: framedGenerateArray(name), frames: 0, frameTexts: [], usage: finalGenerateUsage(name, true) });
}

/** Cut points (strictly inside the buffer) → the chunks a network might deliver. */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => 1 + (p % (bytes.length - 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const p of sorted) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  out.push(bytes.subarray(start));
  return out;
}

const cuts = fc.oneof(
  fc.array(fc.nat(), { maxLength: 30 }),
  // Many tiny pieces: every CR/LF split, every UTF-8 sequence split.
  fc.array(fc.nat(), { minLength: 200, maxLength: 1000 }),
);

async function meter(c: Pick<Case, 'family' | 'contentType'>, chunks: Buffer[], encoding?: string): Promise<MeterResult> {
  const m = createMeter({ family: c.family, contentType: c.contentType, contentEncoding: encoding, maxJsonBytes: 20 * 1024 * 1024 });
  for (const chunk of chunks) m.push(chunk);
  return m.finish();
}

describe('metering under any chunking (fast-check)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: same usage, same frames, bytes untouched', async (_name, c) => {
    const whole = await meter(c, [c.bytes]);
    expect(whole.usage).not.toBeNull();
    expect(JSON.parse(whole.usage!.json)).toEqual(c.usage);
    await fc.assert(
      fc.asyncProperty(cuts, async (points) => {
        const chunks = cut(c.bytes, points);
        const copies = chunks.map((x) => Buffer.from(x));
        const got = await meter(c, chunks);
        // What the client receives is exactly these chunks: the meter must leave them as they were.
        expect(Buffer.concat(chunks).equals(c.bytes)).toBe(true);
        chunks.forEach((x, i) => expect(x.equals(copies[i]!)).toBe(true));
        expect(got).toEqual(whole);
        expect(got.frames).toBe(c.frames);
        expect(got.bareJsonLines).toBe(0);
        expect(got.errorFrame).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it.each(CASES.filter((c) => c.contentType === 'text/event-stream').map((c) => [c.name, c] as const))('%s: the scanner hands out each frame exactly, as views over the chunks', (_name, c) => {
    fc.assert(
      fc.property(cuts, (points) => {
        const frames: string[] = [];
        const scanner = new SseScanner((f) => frames.push(Buffer.concat(f.pieces).toString('utf8')));
        for (const chunk of cut(c.bytes, points)) scanner.push(chunk);
        expect(scanner.atBoundary()).toBe(true);
        scanner.end();
        expect(frames).toEqual(c.frameTexts);
        expect(scanner.frames).toBe(c.frames);
      }),
      { numRuns: 25 },
    );
  });

  it('gzip-compressed streams meter the same under any chunking of the compressed bytes', async () => {
    const sample = CASES.filter((c) => /google-text|basic|tool-call-arguments/.test(c.name));
    for (const c of sample) {
      const gz = gzipSync(c.bytes);
      const want = await meter(c, [c.bytes]);
      await fc.assert(
        fc.asyncProperty(cuts, async (points) => {
          expect(await meter(c, cut(gz, points), 'gzip')).toEqual({ ...want });
        }),
        { numRuns: 25 },
      );
    }
  });
});

describe('the meter never throws (fast-check)', () => {
  const TOKENS = ['data: ', 'data:', 'event: ', 'event:error', 'interaction.completed', '{', '}', '[', ']', '"usageMetadata"', '"usage"', '"total_usage"', '"error"', ':', ',', '\r', '\n', '\r\n', ' ', 'null', '{"usageMetadata":{"totalTokenCount":', '{"interaction":{"usage":', '"\\u00e9"', 'é', '\u0000', '[DONE]'];
  const sseish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 300 }).map((t) => Buffer.from(t.join('')));
  const body = fc.oneof(fc.uint8Array({ maxLength: 4000 }).map((a) => Buffer.from(a)), sseish);
  const input = fc.record({
    family: fc.constantFrom<UsageFamily | null>('generate', 'interactions', null),
    contentType: fc.constantFrom('text/event-stream', 'TEXT/EVENT-STREAM; charset=utf-8', 'application/json', 'text/html', undefined, ''),
    encoding: fc.constantFrom(undefined, 'gzip', 'x-gzip', 'deflate', 'br', 'identity', 'zstd', ' GZIP '),
    maxJsonBytes: fc.constantFrom(16, 1024, 20 * 1024 * 1024),
    bytes: body,
    points: fc.array(fc.nat(), { maxLength: 40 }),
    atBoundaryProbes: fc.boolean(),
  });

  it('random garbage in any chunking, content type and encoding: push never throws, finish always resolves', async () => {
    await fc.assert(
      fc.asyncProperty(input, async (i) => {
        const m = createMeter({ family: i.family, contentType: i.contentType, contentEncoding: i.encoding, maxJsonBytes: i.maxJsonBytes });
        const chunks = i.bytes.length > 1 ? cut(i.bytes, i.points) : [i.bytes];
        for (const chunk of chunks) {
          m.push(chunk);
          if (i.atBoundaryProbes) expect(typeof m.atBoundary()).toBe('boolean');
        }
        const result = await m.finish();
        expect(result).toMatchObject({ sse: expect.any(Boolean), frames: expect.any(Number) });
      }),
      { numRuns: 500 },
    );
  });

  it('pushing after garbage that broke the decompressor is still harmless', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), async (a, b) => {
        const m = createMeter({ family: 'generate', contentType: 'text/event-stream', contentEncoding: 'gzip', maxJsonBytes: 1024 });
        m.push(Buffer.from(a));
        await new Promise((r) => setImmediate(r)); // let zlib report its error
        m.push(Buffer.from(b));
        await m.finish();
      }),
      { numRuns: 200 },
    );
  });
});
