// What a correct stream looks like, and how to describe a wrong one: frame boundaries for timing,
// and a frame-by-frame comparison (lost / merged / altered) when the bytes differ.
import { sseFrames } from './payloads.js';

/**
 * Counts SSE event ends (a blank line after data) chunk by chunk, for timing. Lines end in LF or
 * CRLF (a CR split from its LF across chunks is handled); byte identity is checked separately.
 */
export class EventCounter {
  private lineLen = 0;
  private endsCR = false;
  private hasData = false;
  feed(chunk: Buffer): number {
    let events = 0;
    let pos = 0;
    for (;;) {
      const lf = chunk.indexOf(10, pos);
      if (lf === -1) {
        if (pos < chunk.length) {
          this.lineLen += chunk.length - pos;
          this.endsCR = chunk[chunk.length - 1] === 13;
        }
        return events;
      }
      const cr = lf > pos ? chunk[lf - 1] === 13 : this.endsCR;
      const len = this.lineLen + (lf - pos) - (cr ? 1 : 0);
      if (len === 0) {
        if (this.hasData) events++;
        this.hasData = false;
      } else this.hasData = true;
      this.lineLen = 0;
      this.endsCR = false;
      pos = lf + 1;
    }
  }
}

export interface Expected {
  bytes: Buffer;
  frames: string[]; // with terminators
}

export function expected(seed: string, n: number): Expected {
  const frames = sseFrames(seed, n);
  return { bytes: Buffer.concat(frames), frames: frames.map((f) => f.toString('utf8')) };
}

/** Lines up received frames (terminator included) against expected ones: lost, merged into one, or altered. */
export function classify(received: Buffer, exp: Expected): { received: number; lost: number; merged: number; altered: number; extra: number } {
  const parts = received.toString('utf8').split(/(\r\n\r\n|\n\n|\r\r)/);
  const got: string[] = [];
  for (let k = 0; k < parts.length; k += 2) if (parts[k]!.trim().length > 0) got.push(parts[k]! + (parts[k + 1] ?? ''));
  const E = exp.frames;
  const payload = (e: string): string => e.replace(/^data: ?/, '').trim();
  let i = 0;
  let lost = 0;
  let merged = 0;
  let altered = 0;
  let extra = 0;
  for (const r of got) {
    if (i >= E.length) {
      extra++;
      continue;
    }
    if (r === E[i]) {
      i++;
      continue;
    }
    const skip = E.indexOf(r, i + 1); // frames missing before this one
    if (skip !== -1) {
      lost += skip - i;
      i = skip + 1;
      continue;
    }
    let k = 0;
    while (i + k < E.length && r.includes(payload(E[i + k]!))) k++;
    if (k >= 2) {
      merged += k;
      i += k;
    } else {
      altered++;
      i++;
    }
  }
  return { received: got.length, lost: lost + (E.length - i), merged, altered, extra };
}
