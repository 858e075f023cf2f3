import type { Ledger } from '../ledger/ledger.js';
import type { ProxyContext } from '../exchange/stage.js';
import type { Usage } from '../metering/usage.js';
import type { ResourceOwner, ResourceStore } from './resource-store.js';

/** What a finished long-running resource bills: the usage row's endpoint, model, outcome and usage. */
export interface Completion {
  endpoint: string;
  model: string | null;
  ok: boolean;
  usage: Usage | null;
}

/**
 * A long-running resource (a batch, a Veo operation) seen finished through a client's GET gets one
 * extra usage row against the project that owns it and the upstream key that ran it. The resource
 * remembers it was metered, so later GETs add nothing.
 */
export function recordCompletion(
  deps: { store: ResourceStore; recorder: Ledger },
  ctx: ProxyContext,
  name: string,
  finished: (owner: ResourceOwner) => Completion | null,
): void {
  const owner = deps.store.owner(name);
  if (!owner || owner.usageRecordedAt !== null) return;
  const done = finished(owner);
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
    endpoint: done.endpoint,
    model: done.model,
    stream: 0,
    status: 200,
    outcome: done.ok ? 'ok' : 'upstream_error',
    usage: done.usage,
    ttfbMs: null,
    latencyMs: 0,
    bytesIn: 0,
    bytesOut: 0,
  });
}
