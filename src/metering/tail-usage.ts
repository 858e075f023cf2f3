import { extractUsage, imageUsage, type Usage } from './usage.js';

/** How much of a body too large to keep whole is kept: far more than a usageMetadata object and what follows it. */
export const TAIL_BYTES = 64 * 1024;

const NEEDLE = '"usageMetadata"';

/**
 * Usage of a generateContent body too large to keep whole (inline images), read from its last
 * bytes: Google writes `usageMetadata` after `candidates`, so the last top-level occurrence is in
 * the tail. A needle inside a JSON string has escaped quotes and cannot match. Only that object is
 * parsed; anything unreadable is no usage, as for a malformed whole body.
 */
export function usageFromTail(tail: Buffer): { usage: Usage | null; model: string | null } {
  const text = tail.toString('utf8');
  // From the last occurrence back: a body cut short (a streamed JSON array whose connection broke)
  // may end inside its last usageMetadata, and the complete one before it is then the latest usage.
  for (let at = text.lastIndexOf(NEEDLE); at !== -1; at = at === 0 ? -1 : text.lastIndexOf(NEEDLE, at - 1)) {
    // The needle as a key (followed by a colon), not a string value that happens to read the same.
    let i = at + NEEDLE.length;
    while (isSpace(text.charCodeAt(i))) i++;
    if (text[i] !== ':') continue;
    i++;
    while (isSpace(text.charCodeAt(i))) i++;
    const end = objectEnd(text, i);
    if (end === -1) continue;
    try {
      const { usage } = extractUsage('generate', { usageMetadata: JSON.parse(text.slice(i, end)) as unknown });
      return { usage, model: null };
    } catch {
      continue;
    }
  }
  return { usage: null, model: null };
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Index just past the JSON object starting at `start`, or -1 (strings and their escapes skipped). */
function objectEnd(text: string, start: number): number {
  if (text[start] !== '{') return -1;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
  }
  return -1;
}

const IMAGE_NEEDLES = [Buffer.from('"bytesBase64Encoded"'), Buffer.from('"gcsUri"')];
const CARRY = Math.max(...IMAGE_NEEDLES.map((n) => n.length)) - 1;

/**
 * Counts an Imagen answer's images while it streams past, for a body too large to keep whole: one
 * `bytesBase64Encoded` (or `gcsUri`) key per prediction, found across chunk boundaries too.
 */
export function imageCounter(): { push(chunk: Buffer): void; usage(): Usage } {
  let images = 0;
  let carry = Buffer.alloc(0);
  return {
    push(chunk) {
      for (const needle of IMAGE_NEEDLES) {
        for (let at = chunk.indexOf(needle); at !== -1; at = chunk.indexOf(needle, at + 1)) images++;
        if (carry.length === 0) continue;
        // Matches across the seam: they start in the carried tail of the previous chunk.
        const seam = Buffer.concat([carry, chunk.subarray(0, needle.length - 1)]);
        for (let at = seam.indexOf(needle); at !== -1 && at < carry.length; at = seam.indexOf(needle, at + 1)) if (at + needle.length > carry.length) images++;
      }
      const tail = chunk.length >= CARRY ? chunk : Buffer.concat([carry, chunk]);
      carry = Buffer.from(tail.subarray(Math.max(0, tail.length - CARRY)));
    },
    usage: () => imageUsage(images),
  };
}
