import { finishedBatch } from '../metering/batch-usage.js';
import type { Ledger } from '../ledger/ledger.js';
import { recordCompletion, type CompletionWitness } from './completion.js';
import type { ResourceStore } from './resource-store.js';

/**
 * A batch seen in a final state (by a client's `GET batches/{id}` or by the poller): one
 * `batches.completed` row with the summed usage of its results. Cancelled and expired batches
 * count what completed before they stopped; their outcome says they did not succeed.
 */
export function recordFinishedBatch(deps: { store: ResourceStore; recorder: Ledger }, seen: CompletionWitness, name: string, head: unknown): boolean {
  return recordCompletion(deps, seen, name, () => {
    const done = finishedBatch(head);
    return done && { endpoint: 'batches.completed', model: done.model, ok: done.state.endsWith('SUCCEEDED'), usage: done.usage };
  });
}
