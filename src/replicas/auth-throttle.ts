import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { sourceId, type AuthThrottle } from '../auth/throttle.js';
import type { ChangeFeed } from '../shared/change-feed.js';
import type { SharedState } from '../shared/redis.js';

/**
 * The failed-authentication throttle across replicas. Each failure also counts in Redis, per source
 * and fixed window; the replica whose count reaches the limit announces the block, and every replica
 * refuses that source until the window ends. Deciding stays local and synchronous: Redis is only
 * told, never waited on, so a guess costs the attacker no more time than with one gateway.
 */
export function createSharedAuthThrottle(
  local: AuthThrottle,
  { shared, feed, limit, windowMs, clock, log }: { shared: SharedState; feed: ChangeFeed; limit: number; windowMs: number; clock: Clock; log: Logger },
): AuthThrottle {
  const blocked = new Map<string, number>();
  const block = (id: string, until: number) => {
    if (blocked.size > 100_000) for (const [k, u] of blocked) if (u <= clock.now()) blocked.delete(k);
    blocked.set(id, Math.max(blocked.get(id) ?? 0, until));
  };
  feed.subscribe((c) => {
    if (c.topic !== 'auth-block' || !c.item) return;
    const [id, until] = JSON.parse(c.item) as [string, number];
    block(id, until);
  });

  return {
    retryAfter(address) {
      const own = local.retryAfter(address);
      const until = blocked.get(sourceId(address));
      const now = clock.now();
      if (until === undefined || until <= now) return own;
      return Math.max(own, Math.max(1, Math.ceil((until - now) / 1000)));
    },
    fail(address) {
      const usedUp = local.fail(address);
      if (limit === 0) return usedUp;
      const id = sourceId(address);
      const now = clock.now();
      const start = now - (now % windowMs);
      const key = `${shared.prefix}:auth:${id}:${start}`;
      shared.redis
        .multi()
        .incr(key)
        .pexpire(key, windowMs * 2)
        .exec()
        .then((res) => {
          const count = Number(res?.[0]?.[1] ?? 0);
          if (count < limit) return;
          block(id, start + windowMs);
          if (count === limit) feed.publish({ topic: 'auth-block', item: JSON.stringify([id, start + windowMs]) });
        })
        .catch((err: Error) => log.debug({ err: err.message }, 'could not share a failed key check'));
      return usedUp;
    },
  };
}
