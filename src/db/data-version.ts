import { performance } from 'node:perf_hooks';
import type { Db } from './client.js';
import { dialectOf } from './dialect.js';
import type { ChangeFeed } from './pg-changes.js';

const readers = new WeakMap<object, () => number>();
const feeds = new WeakMap<object, ChangeFeed>();

/** Postgres: the gateway's LISTEN feed becomes the handle's data version (store.ts registers it). */
export function useChangeFeed(db: Db, feed: ChangeFeed): void {
  feeds.set(db.$client, feed);
  readers.delete(db.$client);
}

/**
 * A number that moves when another connection commits a change, which is how in-memory caches learn
 * their data changed underneath them.
 *
 * SQLite: PRAGMA data_version for this connection (it moves on commits by the CLI or another
 * process). Several caches consult it on every request, so the value is shared per connection and
 * re-read at most once per millisecond.
 *
 * Postgres: the change feed's counter (LISTEN/NOTIFY). While the listening connection is down, the
 * value moves every 250 ms, so caches keep nothing longer than that until it is back. A handle with
 * no feed (the CLI) moves on every read: it has no caches worth keeping.
 */
export function dataVersionReader(db: Db): () => number {
  let read = readers.get(db.$client);
  if (read) return read;
  if (dialectOf(db) === 'postgres') {
    const feed = feeds.get(db.$client);
    let n = 0;
    read = feed ? () => (feed.listening() ? feed.counter() : -1 - Math.floor(performance.now() / 250)) : () => --n;
  } else {
    const stmt = db.$client.prepare('PRAGMA data_version').pluck();
    let value = stmt.get() as number;
    let at = performance.now();
    read = () => {
      const now = performance.now();
      if (now - at >= 1) {
        value = stmt.get() as number;
        at = now;
      }
      return value;
    };
  }
  readers.set(db.$client, read);
  return read;
}
