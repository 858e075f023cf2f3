import { finishedBatch } from '../metering/batch-usage.js';
import type { Usage } from '../metering/usage.js';
import { recordCompletion, type CompletionDeps, type CompletionWitness } from './completion.js';
import type { ResourceStore } from './resource-store.js';

interface FinishedBatchOptions {
  /** The usage of the batch's responses file, read by the caller (the poller). */
  fileUsage?: Usage | null;
  /** Leave a batch whose results are in a file to the poller, which reads that file (a client's GET cannot wait for it). */
  deferFileResults?: boolean;
}

/**
 * A batch seen in a final state (by a client's `GET batches/{id}` or by the poller): one
 * `batches.completed` row with the summed usage of its results. Cancelled and expired batches
 * count what completed before they stopped; their outcome says they did not succeed.
 */
export function recordFinishedBatch(deps: CompletionDeps, seen: CompletionWitness, name: string, head: unknown, opts: FinishedBatchOptions = {}): boolean {
  const done = finishedBatch(head);
  if (done && done.usage === null && done.responsesFile !== null && opts.deferFileResults) return false;
  return recordCompletion(deps, seen, name, () => {
    if (!done) return null;
    const usage = done.usage ?? opts.fileUsage ?? null;
    return { endpoint: 'batches.completed', model: done.model, ok: done.state.endsWith('SUCCEEDED'), usage };
  });
}

/**
 * A finished batch's responses file was created by Google, not through the gateway: it belongs to
 * the batch's project and upstream key, so its owner can download it through the gateway.
 */
export function claimResponsesFile(store: ResourceStore, name: string, head: unknown): void {
  const file = finishedBatch(head)?.responsesFile;
  const owner = file ? store.owner(name) : null;
  if (!file || !owner) return;
  store.claim(file, { tenantId: owner.tenantId, projectId: owner.projectId, upstreamKeyId: owner.upstreamKeyId, keyId: owner.keyId ?? null });
}
