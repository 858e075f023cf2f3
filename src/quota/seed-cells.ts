import type { Db } from '../db/client.js';
import type { ReadCell } from './redis-counters.js';

/**
 * Reads one persisted window counter from SQLite's quota_counters: what a window Redis does not
 * have is seeded from. The Postgres store answers the same question from its own table.
 */
export function sqliteCellReader(db: Db): ReadCell {
  const get = db.$client.prepare(
    'SELECT tokens, requests FROM quota_counters WHERE project_id = ? AND dimension = ? AND value = ? AND window_kind = ? AND window_start = ?',
  );
  return (projectId, dim, value, kind, start) => (get.get(projectId, dim, value, kind, start) as { tokens: number; requests: number } | undefined) ?? { tokens: 0, requests: 0 };
}
