import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { FrameGate, type GuardVerdict, type StreamGuard } from '../../src/exchange/stream-guard.js';
import { framedGenerate, framedInteraction, generateFrames, loadGenerateChunks } from '../support/fixtures.js';

const STOP = new GatewayError('resource_exhausted', 'budget spent');

/** A guard that stops at the k-th usage it sees (0-based), delivering that frame or not. */
function guard(stopAt: number | null, deliver: boolean): StreamGuard & { seen: number[] } {
  const seen: number[] = [];
  return {
    seen,
    onUsage(total): GuardVerdict {
      seen.push(total);
      return seen.length - 1 === stopAt ? { error: STOP, deliver } : null;
    },
    attach() {},
    detach() {},
  };
}

/** Feeds the body in pieces of `size` bytes (1 = every possible split, mid-CRLF and mid-UTF-8 included). */
function run(gate: FrameGate, body: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length && !gate.stopped; i += size) out.push(...gate.push(body.subarray(i, i + size)));
  if (!gate.stopped) out.push(...gate.end());
  return Buffer.concat(out);
}

const totals = loadGenerateChunks('google-text').map((l) => JSON.parse(l).usageMetadata.totalTokenCount);

describe('FrameGate', () => {
  for (const eol of ['\r\n', '\n'] as const) {
    for (const size of [1, 7, 64, 100_000]) {
      it(`passes a whole stream unchanged and reports every cumulative usage (eol ${JSON.stringify(eol)}, ${size}-byte chunks)`, () => {
        const g = guard(null, true);
        expect(run(new FrameGate('generate', g), framedGenerate('google-text', eol), size).equals(framedGenerate('google-text', eol))).toBe(true);
        expect(g.seen).toEqual(totals);
        const gi = guard(null, true);
        expect(run(new FrameGate('interactions', gi), framedInteraction('basic', eol), size).equals(framedInteraction('basic', eol))).toBe(true);
        expect(gi.seen.at(-1)).toBe(148);
      });

      it(`stops on a frame boundary, after or instead of the crossing frame (eol ${JSON.stringify(eol)}, ${size}-byte chunks)`, () => {
        const frames = generateFrames('google-text', eol);
        const after = new FrameGate('generate', guard(1, true));
        const delivered = run(after, framedGenerate('google-text', eol), size).toString();
        expect(after.stopped).toBe(STOP);
        // With CRLF the last LF of the crossing frame may still be in flight: the error frame then adds it.
        expect(frames.slice(0, 2).join('').startsWith(delivered)).toBe(true);
        expect(delivered.length).toBeGreaterThanOrEqual(frames.slice(0, 2).join('').length - 1);
        const instead = new FrameGate('generate', guard(1, false));
        const kept = run(instead, framedGenerate('google-text', eol), size).toString();
        expect(frames[0]!.startsWith(kept) && kept.length >= frames[0]!.length - 1).toBe(true);
      });
    }
  }
});
