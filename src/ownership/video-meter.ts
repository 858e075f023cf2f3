import { finishedVideo } from '../metering/video-usage.js';
import type { Ledger } from '../ledger/ledger.js';
import type { ProxyContext } from '../exchange/stage.js';
import type { ResourceStore } from './resource-store.js';

/** A Veo operation's name: `models/{model}/operations/{id}`. */
export const VIDEO_OPERATION = /^models\/([^/:]+)\/operations\/[^/:]+$/;

/**
 * A Veo operation seen done through `GET …/operations/…` gets one usage row, endpoint
 * `videos.completed`, with its seconds of video, against the project that started it. The resource
 * remembers it was metered, so later GETs add nothing (the same rule as finished batches).
 */
export function recordFinishedVideo(deps: { store: ResourceStore; recorder: Ledger }, ctx: ProxyContext, name: string, head: unknown): void {
  const owner = deps.store.owner(name);
  if (!owner || owner.usageRecordedAt !== null) return;
  const done = finishedVideo(head, owner.units ?? 0);
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
    endpoint: 'videos.completed',
    model: VIDEO_OPERATION.exec(name)?.[1] ?? null,
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
