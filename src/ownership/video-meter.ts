import { finishedVideo } from '../metering/video-usage.js';
import type { Ledger } from '../ledger/ledger.js';
import { recordCompletion, type CompletionWitness } from './completion.js';
import type { ResourceStore } from './resource-store.js';

/** A Veo operation's name: `models/{model}/operations/{id}`. */
export const VIDEO_OPERATION = /^models\/([^/:]+)\/operations\/[^/:]+$/;

/** A Veo operation seen done through `GET …/operations/…`: one `videos.completed` row with its seconds of video. */
export function recordFinishedVideo(deps: { store: ResourceStore; recorder: Ledger }, seen: CompletionWitness, name: string, head: unknown): boolean {
  return recordCompletion(deps, seen, name, (owner) => {
    const done = finishedVideo(head, owner.units ?? 0);
    return done && { endpoint: 'videos.completed', model: VIDEO_OPERATION.exec(name)?.[1] ?? null, ok: done.ok, usage: done.usage };
  });
}
