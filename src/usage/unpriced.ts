import type { Db } from '../db/client.js';

/** Models whose tokens could not be priced, with how many requests, from the monthly rollups. */
export function unpricedModels(db: Db): { model: string | null; requests: number }[] {
  const rows = db.$client
    .prepare("SELECT model, SUM(unpriced_requests) AS requests FROM usage_rollups_monthly WHERE unpriced_requests > 0 GROUP BY model ORDER BY requests DESC")
    .all() as { model: string; requests: number }[];
  return rows.map((r) => ({ model: r.model === '' ? null : r.model, requests: r.requests }));
}
