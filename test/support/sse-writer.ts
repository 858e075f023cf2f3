// Writes a stream the way a real network delivers it: frames as separate TCP
// writes, each frame itself cut at awkward offsets, so a gateway that assumes
// one read == one frame, or decodes UTF-8 per chunk, breaks in tests.
import type http from 'node:http';
import { setImmediate as tick } from 'node:timers/promises';

/** mulberry32: tiny, deterministic, good enough to pick split offsets. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Offsets (sorted, strictly inside the frame) at which to cut it. Always one
 * inside a multi-byte UTF-8 character and one between \r and \n when the frame
 * has them, because those are the splits naive parsers get wrong.
 */
export function planSplits(frame: Uint8Array, rng: () => number): number[] {
  if (frame.length < 2) return [];
  const crlf: number[] = [];
  const multiByte: number[] = [];
  for (let i = 0; i < frame.length - 1; i++) {
    if (frame[i] === 0x0d && frame[i + 1] === 0x0a) crlf.push(i + 1);
    if (frame[i]! >= 0xc0) multiByte.push(i + 1); // right after a lead byte
  }
  const pick = (xs: number[]): number => xs[Math.floor(rng() * xs.length)]!;
  const points = new Set<number>();
  if (crlf.length) points.add(pick(crlf));
  if (multiByte.length) points.add(pick(multiByte));
  const extra = 1 + Math.floor(rng() * 3);
  for (let i = 0; i < extra; i++) points.add(1 + Math.floor(rng() * (frame.length - 1)));
  return [...points].filter((p) => p > 0 && p < frame.length).sort((a, b) => a - b);
}

export function splitFrame(frame: Buffer, rng: () => number): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  for (const p of planSplits(frame, rng)) {
    pieces.push(frame.subarray(start, p));
    start = p;
  }
  pieces.push(frame.subarray(start));
  return pieces;
}

export interface StreamWriteOptions {
  rng: () => number;
  frameDelayMs: number;
  beforeFrame?: ((index: number) => Promise<void> | void) | undefined;
}


function waitDrain(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes the frames (headers must already be set) and ends the response.
 * Stops silently once the client has gone. A rejecting beforeFrame destroys
 * the connection mid-stream, which is how tests simulate an upstream dying.
 */
export async function writeFrames(res: http.ServerResponse, frames: string[], opts: StreamWriteOptions): Promise<void> {
  let closed = false;
  res.once('close', () => (closed = true));
  const isGone = (): boolean => closed || res.destroyed || res.writableEnded;
  // writeHead() only buffers the head; a held first frame must not hold the headers back too.
  res.flushHeaders();
  for (let index = 0; index < frames.length; index++) {
    if (index > 0) {
      if (opts.frameDelayMs > 0) await new Promise((r) => setTimeout(r, opts.frameDelayMs));
      else await tick();
    }
    if (opts.beforeFrame) {
      try {
        await opts.beforeFrame(index);
      } catch {
        res.destroy();
        return;
      }
    }
    if (isGone()) return;
    const pieces = splitFrame(Buffer.from(frames[index]!, 'utf8'), opts.rng);
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) await tick(); // a macrotask apart, so pieces leave as separate writes
      if (isGone()) return;
      if (!res.write(pieces[i])) await waitDrain(res);
    }
  }
  if (!isGone()) res.end();
}
