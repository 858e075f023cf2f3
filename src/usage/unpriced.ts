import type { Db } from '../db/client.js';
import { query } from '../db/dialect.js';

/**
 * Models whose tokens could not be priced, with how many requests, from the monthly rollups. Most
 * requests first, ties by model name, ordered here: SQL left ties to each backend's grouping order,
 * and a text ORDER BY follows the database's collation, which need not be code-unit order.
 */
export async function unpricedModels(db: Db): Promise<{ model: string | null; requests: number }[]> {
  const rows = await query<{ model: string; requests: number }>(db, 'SELECT model, SUM(unpriced_requests) AS requests FROM usage_rollups_monthly WHERE unpriced_requests > 0 GROUP BY model');
  rows.sort((a, b) => b.requests - a.requests || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  return rows.map((r) => ({ model: r.model === '' ? null : r.model, requests: r.requests }));
}
