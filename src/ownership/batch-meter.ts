import { finishedBatch } from '../metering/batch-usage.js';
import type { Ledger } from '../ledger/ledger.js';
import type { ProxyContext } from '../exchange/stage.js';
import type { ResourceStore } from './resource-store.js';

/**
 * A batch seen in a final state through `GET batches/{id}` gets one extra usage row, endpoint
 * `batches.completed`, carrying the summed usage of its results, against the owning project and
 * the upstream key that ran it. The resource remembers it was metered, so later GETs add nothing.
 */
export function recordFinishedBatch(
  deps: { store: ResourceStore; recorder: Ledger },
  ctx: ProxyContext,
  name: string,
  head: unknown,
): void {
  const owner = deps.store.owner(name);
  if (!owner || owner.usageRecordedAt !== null) return;
  const done = finishedBatch(head);
  if (!done) return;
  deps.store.markUsageRecorded(name);
  deps.recorder.record({
    createdAt: ctx.now,
    requestId: ctx.requestId,
    tenantId: owner.tenantId,
    projectId: owner.projectId,
    keyId: ctx.principal.keyId,
    upstreamKeyId: owner.upstreamKeyId,
    method: ctx.method,
    apiVersion: ctx.what.apiVersion,
    endpoint: 'batches.completed',
    model: done.model,
    stream: 0,
    status: 200,
    outcome: done.state.endsWith('SUCCEEDED') ? 'ok' : 'upstream_error',
    usage: done.usage,
    ttfbMs: null,
    latencyMs: 0,
    bytesIn: 0,
    bytesOut: 0,
  });
}
