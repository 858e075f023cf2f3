// Recorded Gemini API responses (a copy of ../shared/fixtures/gemini, see its README.md) and
// the helpers tests use to compute what a gateway should see and record. The
// fake upstream frames streams with the same functions, so an expectation built
// here is byte-for-byte what went on the wire.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Eol = '\r\n' | '\n';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// A copy lives in the repo so the demo, the tests and a Docker build work from any clone.
export const FIXTURES_DIR = path.resolve(repoRoot, 'test/fixtures/gemini');

const cache = new Map<string, string>();
function readText(rel: string): string {
  let text = cache.get(rel);
  if (text === undefined) {
    text = readFileSync(path.join(FIXTURES_DIR, rel), 'utf8');
    cache.set(rel, text);
  }
  return text;
}

// Names come from request paths/bodies, so refuse anything that could escape the folder.
export function fixtureExists(folder: 'generate' | 'interactions', file: string): boolean {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file) || file.includes('..')) return false;
  return existsSync(path.join(FIXTURES_DIR, folder, file));
}

function lines(rel: string): string[] {
  // Files may or may not end with a newline; the payloads themselves never contain one.
  return readText(rel).split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0);
}

export const loadGenerateChunks = (name: string): string[] => lines(`generate/${name}.chunks.txt`);
export const loadInteractionChunks = (name: string): string[] => lines(`interactions/${name}.chunks.txt`);
/** Exact file text, for replaying unary bodies without re-serialising them. */
export const generateUnaryText = (name: string): string => readText(`generate/${name}.json`);
export const interactionUnaryText = (name: string): string => readText(`interactions/${name}.json`);
export const loadGenerateUnary = (name: string): any => JSON.parse(generateUnaryText(name));
export const loadInteractionUnary = (name: string): any => JSON.parse(interactionUnaryText(name));
export const loadErrorText = (name: string): string => readText(`errors/${name}.json`);

export interface Recording {
  recordID: string;
  interactions: Array<{
    request: { method: string; url: string; headers: Record<string, string>; bodySegments: unknown[] };
    response: { statusCode: number; headers: Record<string, string>; bodySegments: any[] };
  }>;
}
export const loadRecording = (name: string): Recording =>
  JSON.parse(readText(`recordings/${name}.json`)) as Recording;

export function finalGenerateUsage(name: string, stream: boolean): any {
  if (!stream) return loadGenerateUnary(name).usageMetadata;
  // Streamed usageMetadata is cumulative: the last one wins, summing would over-count.
  let usage: unknown;
  for (const line of loadGenerateChunks(name)) {
    const chunk = JSON.parse(line) as { usageMetadata?: unknown };
    if (chunk.usageMetadata !== undefined) usage = chunk.usageMetadata;
  }
  return usage;
}

export function finalInteractionUsage(name: string, stream: boolean): any {
  if (!stream) return loadInteractionUnary(name).usage;
  for (const line of loadInteractionChunks(name)) {
    const ev = JSON.parse(line) as { event_type?: string; interaction?: { usage?: unknown } };
    if (ev.event_type === 'interaction.completed') return ev.interaction?.usage;
  }
  return undefined;
}

export const sseDataFrame = (payload: string, eol: Eol): string => `data: ${payload}${eol}${eol}`;

export function interactionFrame(payload: string, eol: Eol): string {
  const type = (JSON.parse(payload) as { event_type?: string }).event_type ?? 'message';
  return `event: ${type}${eol}data: ${payload}${eol}${eol}`;
}
export const interactionDoneFrame = (eol: Eol): string => `event: done${eol}data: [DONE]${eol}${eol}`;

export const generateFrames = (name: string, eol: Eol): string[] =>
  loadGenerateChunks(name).map((l) => sseDataFrame(l, eol));
export const interactionFrames = (name: string, eol: Eol): string[] => [
  ...loadInteractionChunks(name).map((l) => interactionFrame(l, eol)),
  interactionDoneFrame(eol),
];
/** streamGenerateContent without alt=sse: one JSON array, delivered element by element. */
export function jsonArrayFrames(payloads: string[]): string[] {
  if (payloads.length === 0) return ['[]'];
  return [...payloads.map((p, i) => (i === 0 ? '[' : ',\r\n') + p), ']'];
}

export const framedGenerate = (name: string, eol: Eol): Buffer => Buffer.from(generateFrames(name, eol).join(''), 'utf8');
export const framedInteraction = (name: string, eol: Eol): Buffer =>
  Buffer.from(interactionFrames(name, eol).join(''), 'utf8');
export const framedGenerateArray = (name: string): Buffer =>
  Buffer.from(jsonArrayFrames(loadGenerateChunks(name)).join(''), 'utf8');

let interactionIndex: Map<string, { name: string; hasJson: boolean }> | undefined;
/**
 * Maps interaction ids to fixture names. The unary and streamed recordings of a
 * fixture were made separately and carry different ids, so both are indexed.
 */
export function findInteractionById(id: string): { name: string; hasJson: boolean } | undefined {
  if (!interactionIndex) {
    interactionIndex = new Map();
    const files = readdirSync(path.join(FIXTURES_DIR, 'interactions')).sort();
    for (const f of files.filter((x) => x.endsWith('.json'))) {
      const name = f.slice(0, -'.json'.length);
      const found = (loadInteractionUnary(name) as { id?: string }).id;
      if (found) interactionIndex.set(found, { name, hasJson: true });
    }
    for (const f of files.filter((x) => x.endsWith('.chunks.txt'))) {
      const name = f.slice(0, -'.chunks.txt'.length);
      for (const line of loadInteractionChunks(name)) {
        const found = (JSON.parse(line) as { interaction?: { id?: string } }).interaction?.id;
        if (found && !interactionIndex.has(found)) {
          interactionIndex.set(found, { name, hasJson: fixtureExists('interactions', `${name}.json`) });
        }
      }
    }
  }
  return interactionIndex.get(id);
}

/**
 * The fake upstream's stand-in tokenizer (embeddings usage, cachedContents):
 * the number of whitespace-separated words in every `text` string, at least 1.
 */
export function fakeTokenCount(value: unknown): number {
  let words = 0;
  const visit = (v: unknown, key?: string): void => {
    if (typeof v === 'string') {
      if (key === 'text') words += v.split(/\s+/).filter(Boolean).length;
    } else if (Array.isArray(v)) v.forEach((x) => visit(x));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, k);
  };
  visit(value);
  return Math.max(1, words);
}
