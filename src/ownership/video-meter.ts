import { DEFAULT_VIDEO_SECONDS, finishedVideo } from '../metering/video-usage.js';
import { recordCompletion, type CompletionDeps, type CompletionWitness } from './completion.js';
import { fileFromUri } from './references.js';
import type { ResourceStore } from './resource-store.js';

/** A Veo operation's name: `models/{model}/operations/{id}`. */
export const VIDEO_OPERATION = /^models\/([^/:]+)\/operations\/[^/:]+$/;

/** A Veo operation seen done through `GET …/operations/…`: one `videos.completed` row with its seconds of video. */
export function recordFinishedVideo(deps: CompletionDeps, seen: CompletionWitness, name: string, head: unknown): boolean {
  return recordCompletion(deps, seen, name, (owner) => {
    // An operation claimed before the requested length was stored (migration 0007) has none:
    // Veo's default clip length is the best estimate, where 0 would make its videos free.
    const done = finishedVideo(head, owner.units ?? DEFAULT_VIDEO_SECONDS);
    return done && { endpoint: 'videos.completed', model: VIDEO_OPERATION.exec(name)?.[1] ?? null, ok: done.ok, usage: done.usage };
  });
}

/**
 * A done Veo operation's videos were stored by Google, not uploaded through the gateway: they
 * belong to the operation's project and upstream key, so its owner can download them through the
 * gateway (any other project still gets 404).
 */
export function claimGeneratedVideos(store: ResourceStore, name: string, head: unknown): void {
  const owner = store.owner(name);
  if (!owner) return;
  for (const uri of finishedVideo(head, 0)?.uris ?? []) {
    const file = fileFromUri(uri);
    if (file) store.claim(file, { tenantId: owner.tenantId, projectId: owner.projectId, upstreamKeyId: owner.upstreamKeyId, keyId: owner.keyId ?? null });
  }
}
