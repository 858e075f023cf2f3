import type { Db } from '../db/client.js';
import { query } from '../db/dialect.js';

/** Models whose tokens could not be priced, with how many requests, from the monthly rollups. */
export async function unpricedModels(db: Db): Promise<{ model: string | null; requests: number }[]> {
  const rows = await query<{ model: string; requests: number }>(db, 'SELECT model, SUM(unpriced_requests) AS requests FROM usage_rollups_monthly WHERE unpriced_requests > 0 GROUP BY model ORDER BY requests DESC');
  return rows.map((r) => ({ model: r.model === '' ? null : r.model, requests: r.requests }));
}
