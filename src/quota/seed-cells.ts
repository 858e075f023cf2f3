import type { Db } from '../db/client.js';
import { dialectOf, query } from '../db/dialect.js';
import type { ReadCell } from './redis-counters.js';

const READ = 'SELECT tokens, requests FROM quota_counters WHERE project_id = ? AND dimension = ? AND value = ? AND window_kind = ? AND window_start = ?';

/**
 * Reads one persisted window counter from quota_counters: what a window Redis does not have is
 * seeded from. SQLite answers synchronously from a prepared statement; Postgres through the pool.
 */
export function cellReader(db: Db): ReadCell {
  if (dialectOf(db) === 'postgres') {
    return async (projectId, dim, value, kind, start) => {
      const [row] = await query<{ tokens: number; requests: number }>(db, READ, [projectId, dim, value, kind, start]);
      return row ? { tokens: Number(row.tokens), requests: Number(row.requests) } : { tokens: 0, requests: 0 };
    };
  }
  const get = db.$client.prepare(READ);
  return (projectId, dim, value, kind, start) => (get.get(projectId, dim, value, kind, start) as { tokens: number; requests: number } | undefined) ?? { tokens: 0, requests: 0 };
}
