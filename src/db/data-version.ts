import { performance } from 'node:perf_hooks';
import type { Db } from './client.js';

const readers = new WeakMap<Db, () => number>();

/**
 * SQLite's PRAGMA data_version for this connection: it moves when another connection (the CLI,
 * another process) commits, which is how in-memory caches learn their data changed underneath
 * them. Several caches consult it on every request, so the value is shared per connection and
 * re-read at most once per millisecond: a change made elsewhere is seen within 1 ms, at a cost
 * of one native call per millisecond instead of several per request.
 */
export function dataVersionReader(db: Db): () => number {
  let read = readers.get(db);
  if (!read) {
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
    readers.set(db, read);
  }
  return read;
}
