import { readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createMeter } from '../../src/metering/meter.js';
import { SseScanner, frameData } from '../../src/metering/sse.js';
import { FIXTURES_DIR, finalGenerateUsage, finalInteractionUsage, framedGenerate, framedGenerateArray, framedInteraction, loadGenerateChunks, loadInteractionChunks } from '../support/fixtures.js';

const generateStreams = readdirSync(`${FIXTURES_DIR}/generate`).filter((f) => f.endsWith('.chunks.txt')).map((f) => f.replace('.chunks.txt', ''));
const interactionStreams = readdirSync(`${FIXTURES_DIR}/interactions`).filter((f) => f.endsWith('.chunks.txt')).map((f) => f.replace('.chunks.txt', ''));

/** Chunkings that hit every awkward place: one byte at a time, primes, and the whole body at once. */
function* chunkings(buf: Buffer): Generator<[string, Buffer[]]> {
  for (const size of [1, 2, 3, 7, 13, 64, 1021]) {
    const parts: Buffer[] = [];
    for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
    yield [`${size}-byte pieces`, parts];
  }
  yield ['one piece', [buf]];
}

async function meterOver(family: 'generate' | 'interactions', contentType: string, parts: Buffer[], contentEncoding?: string) {
  const m = createMeter({ family, contentType, contentEncoding, maxJsonBytes: 1 << 24 });
  for (const p of parts) m.push(p);
  return m.finish();
}

describe('SseScanner', () => {
  it.each(generateStreams)('splits %s into exactly one frame per chunk under every chunking and line ending', (name) => {
    const payloads = loadGenerateChunks(name);
    for (const eol of ['\r\n', '\n', '\r'] as const) {
      const bytes = Buffer.from(payloads.map((p) => `data: ${p}${eol}${eol}`).join(''));
      for (const [label, parts] of chunkings(bytes)) {
        const got: string[] = [];
        const s = new SseScanner((f) => got.push(frameData(f.pieces)));
        for (const p of parts) s.push(p);
        s.end();
        expect(got, `${JSON.stringify(eol)} ${label}`).toEqual(payloads);
      }
    }
  });

  it('reads event names, counts bare JSON lines and flags error frames', () => {
    const frames: Array<{ event: string | null; isError: boolean }> = [];
    const s = new SseScanner((f) => frames.push({ event: f.event, isError: f.isError }));
    s.push(Buffer.from('event: interaction.completed\r\ndata: {}\r\n\r\n{"bare":true}\n\ndata: {"error":{"code":503}}\n\n: comment\n\n'));
    s.end();
    expect(frames).toEqual([
      { event: 'interaction.completed', isError: false },
      { event: null, isError: false },
      { event: null, isError: true },
      { event: null, isError: false },
    ]);
    expect(s.bareJsonLines).toBe(1);
  });

  it('delivers a final frame that has no trailing blank line', () => {
    const got: string[] = [];
    const s = new SseScanner((f) => got.push(frameData(f.pieces)));
    s.push(Buffer.from('data: {"a":1}\r\n\r\ndata: {"b":'));
    s.push(Buffer.from('2}'));
    s.end();
    expect(got).toEqual(['{"a":1}', '{"b":2}']);
  });
});

describe('meter', () => {
  it.each(generateStreams)('takes the last usageMetadata of %s (cumulative, never summed) under every chunking', async (name) => {
    const want = finalGenerateUsage(name, true);
    for (const eol of ['\r\n', '\n'] as const) {
      for (const [label, parts] of chunkings(framedGenerate(name, eol))) {
        const r = await meterOver('generate', 'text/event-stream', parts);
        expect(JSON.parse(r.usage!.json), label).toEqual(want);
        expect(r.usage!.totalTokens).toBe(want.totalTokenCount);
        expect(r.frames).toBe(loadGenerateChunks(name).length);
      }
    }
  });

  it.each(interactionStreams)('takes interaction.completed usage of %s under every chunking', async (name) => {
    const want = finalInteractionUsage(name, true);
    for (const [label, parts] of chunkings(framedInteraction(name, '\r\n'))) {
      const r = await meterOver('interactions', 'text/event-stream', parts);
      expect(JSON.parse(r.usage!.json), label).toEqual(want);
      expect(r.frames).toBe(loadInteractionChunks(name).length + 1);
    }
  });

  it('falls back to step usage when no completed event arrives, and records nulls when there is none', async () => {
    const stepStop = Buffer.from('event: step.stop\ndata: {"index":0,"usage":{"total_tokens":9,"total_input_tokens":4,"total_output_tokens":5},"event_type":"step.stop"}\n\n');
    expect((await meterOver('interactions', 'text/event-stream', [stepStop])).usage).toMatchObject({ promptTokens: 4, outputTokens: 5, totalTokens: 9, cachedTokens: 0 });
    expect((await meterOver('generate', 'text/event-stream', [Buffer.from('data: {"candidates":[]}\n\n')])).usage).toBeNull();
  });

  it('ignores a trailing error frame and keeps the last usage before it', async () => {
    const good = Buffer.from('data: {"usageMetadata":{"promptTokenCount":3,"totalTokenCount":8,"candidatesTokenCount":5}}\r\n\r\n');
    const bad = Buffer.from('data: {"error":{"code":503,"message":"x","status":"UNAVAILABLE"}}\r\n\r\n');
    const r = await meterOver('generate', 'text/event-stream', [good, bad]);
    expect(r.errorFrame).toBe(true);
    expect(r.usage).toMatchObject({ promptTokens: 3, outputTokens: 5, totalTokens: 8 });
  });

  it('meters the progressive JSON array and gzip-encoded bodies', async () => {
    const arr = framedGenerateArray('google-reasoning');
    const want = finalGenerateUsage('google-reasoning', true).totalTokenCount;
    for (const [label, parts] of chunkings(arr)) expect((await meterOver('generate', 'application/json', parts)).usage!.totalTokens, label).toBe(want);
    const gz = gzipSync(arr);
    expect((await meterOver('generate', 'application/json', [gz.subarray(0, 10), gz.subarray(10)], 'gzip')).usage!.totalTokens).toBe(want);
  });

  it('names an encoding it cannot decode instead of parsing compressed bytes, whatever the family', async () => {
    const arr = framedGenerateArray('google-reasoning');
    for (const enc of ['zstd', 'gzip, br', 'compress']) {
      expect(await meterOver('generate', 'application/json', [arr], enc)).toMatchObject({ usage: null, unreadableEncoding: enc });
      const m = createMeter({ family: null, contentType: 'application/json', contentEncoding: enc, maxJsonBytes: 1024 });
      expect((await m.finish()).unreadableEncoding).toBe(enc);
    }
    for (const enc of [undefined, '', 'identity', ' GZIP ']) {
      const parts = enc?.trim() === 'GZIP' ? [gzipSync(arr)] : [arr];
      const got = await meterOver('generate', 'application/json', parts, enc);
      expect(got.unreadableEncoding).toBeUndefined();
      expect(got.usage).not.toBeNull();
    }
  });

  it('never throws on garbage and reports no usage', async () => {
    const junk = [Buffer.from('\x00\xff{{{'), Buffer.from('data: {"usageMetadata": [1,2'), Buffer.from('\r\r\n\n')];
    for (const ct of ['text/event-stream', 'application/json']) {
      expect((await meterOver('generate', ct, junk)).usage).toBeNull();
    }
    expect((await meterOver('generate', 'application/json', junk, 'gzip')).usage).toBeNull();
  });
});
