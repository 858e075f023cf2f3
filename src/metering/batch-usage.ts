import { fromUsageMetadata, type Usage } from './usage.js';
import { isObject } from '../values.js';

const FINAL = /_(SUCCEEDED|FAILED|CANCELLED|EXPIRED)$/;
const COUNTS = ['promptTokenCount', 'cachedContentTokenCount', 'candidatesTokenCount', 'toolUsePromptTokenCount', 'thoughtsTokenCount', 'totalTokenCount'];

interface FinishedBatch {
  state: string;
  model: string | null;
  /** Summed over inlined responses; null when the results are in a responses file the gateway does not read. */
  usage: Usage | null;
}

/**
 * Pure: a batch Operation (`GET batches/{id}`) in a final state, with the usage of its results.
 * Google reports no batch-level total, so the per-request `usageMetadata` of inlined responses are
 * summed (counts only; per-modality lists are not merged). Not final → null.
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
  if (!Array.isArray(inlined)) return { state: state ?? 'DONE', model, usage: null };
  const sum: Record<string, number> = {};
  let any = false;
  for (const item of inlined) {
    const u = isObject(item) && isObject(item.response) ? item.response.usageMetadata : undefined;
    if (!isObject(u)) continue;
    any = true;
    for (const k of COUNTS) if (typeof u[k] === 'number') sum[k] = (sum[k] ?? 0) + (u[k] as number);
  }
  return { state: state ?? 'DONE', model, usage: any ? fromUsageMetadata(sum) : null };
}
