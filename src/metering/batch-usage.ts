import { fromUsageMetadata, type Usage } from './usage.js';
import { addModalities, addUsageMetadataModalities, type ModalityCounts } from './modality.js';
import { isObject } from '../values.js';

const FINAL = /_(SUCCEEDED|FAILED|CANCELLED|EXPIRED)$/;
const COUNTS = ['promptTokenCount', 'cachedContentTokenCount', 'candidatesTokenCount', 'toolUsePromptTokenCount', 'thoughtsTokenCount', 'totalTokenCount'];

interface FinishedBatch {
  state: string;
  model: string | null;
  /** Summed over inlined responses; null when there are none (results in a file, or nothing completed). */
  usage: Usage | null;
  /** `files/…` holding the results as JSON lines, when the batch wrote its results to a file. */
  responsesFile: string | null;
}

/**
 * Pure: a batch Operation (`GET batches/{id}`) in a final state, with the usage of its results.
 * Google reports no batch-level total, so the per-request `usageMetadata` of inlined responses are
 * summed, their modality splits too. Not final → null.
 */
export function finishedBatch(op: unknown): FinishedBatch | null {
  if (!isObject(op)) return null;
  const meta = isObject(op.metadata) ? op.metadata : {};
  const state = typeof meta.state === 'string' ? meta.state : null;
  if (!(state && FINAL.test(state)) && op.done !== true) return null;
  // Operation.response and metadata.output carry the same results: read one, never both.
  const output = isObject(op.response) ? op.response : isObject(meta.output) ? meta.output : {};
  const inlined = isObject(output.inlinedResponses) ? output.inlinedResponses.inlinedResponses : undefined;
  const model = typeof meta.model === 'string' ? meta.model.replace(/^models\//, '') : null;
  const responsesFile = typeof output.responsesFile === 'string' ? output.responsesFile : null;
  return { state: state ?? 'DONE', model, usage: Array.isArray(inlined) ? sumResults(inlined) : null, responsesFile };
}

/**
 * Pure: the summed usage of a batch's responses file (JSON lines of `{key, response}` or
 * `{key, error}`); lines that are not JSON or carry no usage count nothing. Null when none has usage.
 */
export function responsesFileUsage(text: string): Usage | null {
  const items: unknown[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      items.push(JSON.parse(line));
    } catch {
      // a torn or foreign line: it carries no usage we can trust
    }
  }
  return sumResults(items);
}

function sumResults(items: unknown[]): Usage | null {
  const sum: Record<string, number> = {};
  // Image output and audio input have their own prices: a batch of them must not be billed as text.
  const split: ModalityCounts = {};
  const parts: Usage[] = [];
  for (const item of items) {
    const u = isObject(item) && isObject(item.response) ? item.response.usageMetadata : undefined;
    if (!isObject(u)) continue;
    for (const k of COUNTS) if (typeof u[k] === 'number') sum[k] = (sum[k] ?? 0) + (u[k] as number);
    addUsageMetadataModalities(split, u);
    parts.push(fromUsageMetadata(u)!);
  }
  if (parts.length === 0) return null;
  const usage = fromUsageMetadata(sum)!;
  addModalities(usage, split);
  // Not enumerable: read where the row is priced, on this thread, but left out of the batch posted to
  // the writer thread and of a log line (a batch may hold thousands of requests).
  Object.defineProperty(usage, 'parts', { value: parts, enumerable: false });
  return usage;
}
