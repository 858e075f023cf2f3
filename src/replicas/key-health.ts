import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { UpstreamKeyPool } from '../upstream/key-pool.js';
import type { ChangeFeed } from '../shared/change-feed.js';
import type { SharedState } from '../shared/redis.js';

/**
 * Upstream key health shared by the replicas: a cooldown or disable one replica learns from
 * upstream is written to one Redis hash and announced, and every replica merges it into its own
 * pool, so picking a key stays a local, synchronous step. The hash is re-read on every announcement
 * and whenever the change feed reports a missed message.
 *
 * A disable lasts until restart, as with one gateway: a replica takes in only the disables recorded
 * since it started. Otherwise the persisted hash would keep a key an operator has since fixed
 * disabled for good, on every replica and across every restart.
 */
export function createSharedKeyHealth({ shared, feed, log, clock }: { shared: SharedState; feed: ChangeFeed; log: Logger; clock: Clock }) {
  const hashKey = `${shared.prefix}:keypool`;
  const startedAt = clock.now();
  let pool: UpstreamKeyPool | null = null;

  async function refresh(): Promise<void> {
    if (!pool?.merge) return;
    const all = await shared.redis.hgetall(hashKey);
    for (const [id, text] of Object.entries(all)) {
      const v = JSON.parse(text) as { coolingUntil: number; disabledReason: string | null; at?: number };
      pool.merge(id, v.coolingUntil, v.at !== undefined && v.at >= startedAt ? v.disabledReason : null);
    }
  }
  const refreshQuietly = () => void refresh().catch((err: Error) => log.warn({ err: err.message }, 'could not read shared upstream key health'));

  feed.subscribe((c) => {
    if (c.topic === 'keypool' || c.topic === '*') refreshQuietly();
  });

  return {
    /** Passed to createEnvKeyPool as onChange: what this replica learnt, for the others. */
    onChange(keyId: string, coolingUntil: number, disabledReason: string | null): void {
      // Cooldowns end on their own: the field outlives the longest one by the key's TTL refresh.
      shared.redis
        .hset(hashKey, keyId, JSON.stringify({ coolingUntil, disabledReason, at: clock.now() }))
        .then(() => feed.publish({ topic: 'keypool', item: keyId }))
        .catch((err: Error) => log.warn({ err: err.message, upstreamKeyId: keyId }, 'could not share upstream key health'));
    },
    /** The pool to keep in step; its current shared state is read at once. */
    attach(p: UpstreamKeyPool): void {
      pool = p;
      refreshQuietly();
    },
  };
}
