import type { Logger } from '../logger.js';
import type { UpstreamKeyPool } from '../upstream/key-pool.js';
import type { ChangeFeed } from '../shared/change-feed.js';
import type { SharedState } from '../shared/redis.js';

/**
 * Upstream key health shared by the replicas: a cooldown or disable one replica learns from
 * upstream is written to one Redis hash and announced, and every replica merges it into its own
 * pool, so picking a key stays a local, synchronous step. The hash is re-read on every announcement
 * and whenever the change feed reports a missed message.
 */
export function createSharedKeyHealth({ shared, feed, log }: { shared: SharedState; feed: ChangeFeed; log: Logger }) {
  const hashKey = `${shared.prefix}:keypool`;
  let pool: UpstreamKeyPool | null = null;

  async function refresh(): Promise<void> {
    if (!pool?.merge) return;
    const all = await shared.redis.hgetall(hashKey);
    for (const [id, text] of Object.entries(all)) {
      const v = JSON.parse(text) as { coolingUntil: number; disabledReason: string | null };
      pool.merge(id, v.coolingUntil, v.disabledReason);
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
        .hset(hashKey, keyId, JSON.stringify({ coolingUntil, disabledReason }))
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
