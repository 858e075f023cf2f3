import { finishedBatch } from '../metering/batch-usage.js';
import type { Ledger } from '../ledger/ledger.js';
import type { ProxyContext } from '../exchange/stage.js';
import { recordCompletion } from './completion.js';
import type { ResourceStore } from './resource-store.js';

/** A batch seen in a final state through `GET batches/{id}`: one `batches.completed` row with the summed usage of its results. */
export function recordFinishedBatch(deps: { store: ResourceStore; recorder: Ledger }, ctx: ProxyContext, name: string, head: unknown): void {
  recordCompletion(deps, ctx, name, () => {
    const done = finishedBatch(head);
    return done && { endpoint: 'batches.completed', model: done.model, ok: done.state.endsWith('SUCCEEDED'), usage: done.usage };
  });
}
