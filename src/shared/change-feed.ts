import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { SharedState } from './redis.js';

/** A change another replica announced: what kind of state changed, and which item when it says. */
export interface Change {
  topic: string;
  item?: string;
}

export interface ChangeFeed {
  /** Tells every other replica; fire and forget (a missed message is caught by the version poll). */
  publish(change: Change): void;
  /** `topic` '*' means "something changed while this replica was not listening": drop every cache. */
  subscribe(listener: (change: Change) => void): void;
  close(): Promise<void>;
}

/**
 * Cache invalidation between replicas: Redis pub/sub for promptness, plus a version counter that
 * every publish increments and every replica polls, so a replica that missed messages (its
 * subscriber connection dropped) still sees that something changed within two polls (`pollMs`, 300 ms by default).
 */
export function createChangeFeed(shared: SharedState, log: Logger, pollMs = 300): ChangeFeed {
  const channel = `${shared.prefix}:changes`;
  const versionKey = `${shared.prefix}:changes:version`;
  const listeners: Array<(c: Change) => void> = [];
  const emit = (c: Change) => {
    for (const l of listeners) {
      try {
        l(c);
      } catch (err) {
        log.error({ err: (err as Error).message, topic: c.topic }, 'applying a change from another replica failed');
      }
    }
  };
  // A subscribed connection can run nothing else; ioredis subscribes again after a reconnect.
  const sub: Redis = shared.redis.duplicate({ enableOfflineQueue: true });
  sub.on('error', () => {});
  void sub.subscribe(channel).catch(() => {});
  sub.on('message', (_ch: string, text: string) => {
    try {
      const m = JSON.parse(text) as Change & { from: string; version: number };
      // A gap in the versions means a message went by while this replica was not listening.
      if (primed && m.version > seen + 1) emit({ topic: '*' });
      if (m.version > seen) seen = m.version;
      if (m.from !== shared.replicaId) emit({ topic: m.topic, ...(m.item === undefined ? {} : { item: m.item }) });
    } catch {
      /* not ours */
    }
  });
  let seen = 0;
  let primed = false;
  // A version ahead of the messages on one poll may just be a message still on its way; still ahead
  // on the next poll, it was missed.
  let ahead: number | null = null;
  const poll = setInterval(() => {
    shared.redis.get(versionKey).then(
      (v) => {
        const version = Number(v ?? 0);
        if (primed && version < seen) {
          // The counter only grows, so it was lost (Redis restarted without its data, or evicted it):
          // this replica's subscription dropped with it, and versions it already saw are handed out
          // again, so a missed message would never show as a gap. Start over from the new count.
          emit({ topic: '*' });
          seen = version;
          ahead = null;
        } else if (!primed || version === seen) {
          seen = Math.max(seen, version);
          primed = true;
          ahead = null;
        } else if (ahead !== null && ahead > seen) {
          emit({ topic: '*' });
          seen = version;
          ahead = null;
        } else ahead = version;
      },
      () => {},
    );
  }, pollMs);
  poll.unref();

  return {
    publish(change) {
      shared.redis
        .incr(versionKey)
        .then((version) => {
          // Our own increment must not look like a missed change; another replica's in between still does.
          if (version === seen + 1) seen = version;
          return shared.redis.publish(channel, JSON.stringify({ ...change, from: shared.replicaId, version }));
        })
        .catch((err: Error) => log.warn({ err: err.message, topic: change.topic }, 'could not announce a change to the other replicas; they see it within KEY_CACHE_TTL_MS'));
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    async close() {
      clearInterval(poll);
      sub.disconnect();
    },
  };
}
