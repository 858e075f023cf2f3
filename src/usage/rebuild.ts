import type { Db } from '../db/client.js';
import { decodeUsageRow } from '../metering/columns.js';
import type { PriceBook } from './prices.js';
import { createRollupWriter, GRAIN_TABLE } from './rollups.js';

/**
 * Recomputes every rollup from the raw events in one transaction, e.g. after upgrading a database
 * whose events predate the rollups. Rows without a cost (written before pricing, or by a model
 * priced since) are priced now from the price book; stored costs are kept as they were.
 */
export function rebuildRollups(db: Db, prices: PriceBook, batch = 5000): { events: number; priced: number } {
  const read = db.$client.prepare('SELECT * FROM usage_events WHERE id > ? ORDER BY id LIMIT ?');
  const setCost = db.$client.prepare('UPDATE usage_events SET cost_nano_usd = ? WHERE id = ?');
  const hook = createRollupWriter(db.$client);
  let events = 0;
  let priced = 0;
  db.$client.transaction(() => {
    for (const table of Object.values(GRAIN_TABLE)) db.$client.prepare(`DELETE FROM ${table}`).run();
    for (let after = 0; ; ) {
      const rows = read.all(after, batch) as Array<Record<string, unknown> & { id: number }>;
      if (rows.length === 0) break;
      after = rows.at(-1)!.id;
      const usageRows = rows.map((r) => {
        const row = decodeUsageRow(r);
        if (row.costNanoUsd === null && row.usage) {
          row.costNanoUsd = prices.costNanoUsd(row);
          if (row.costNanoUsd !== null) {
            setCost.run(row.costNanoUsd, r.id);
            priced++;
          }
        }
        return row;
      });
      hook(usageRows);
      events += rows.length;
    }
  }).immediate();
  return { events, priced };
}
