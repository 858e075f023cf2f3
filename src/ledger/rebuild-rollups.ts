import type { Db } from '../db/client.js';
import { dialectOf, execute, query, transaction } from '../db/dialect.js';
import { decodeUsageRow } from '../metering/columns.js';
import type { PriceBook } from '../usage/prices.js';
import { rebuildRollups } from '../usage/rebuild.js';
import { accumulate, GRAIN_TABLE, GRAINS, type Grain } from '../usage/rollups.js';
import { pgArrayLiteral } from './pg-arrays.js';
import { rollupColumns, UPSERT_TOTALS_SQL } from './pg-statements.js';

/**
 * `usage rebuild` on whichever database the handle is. Here rather than in usage/: the Postgres
 * rebuild writes with the ledger's own rollup statement.
 */
export async function rebuildUsageRollups(db: Db, prices: PriceBook, batch?: number): Promise<{ events: number; priced: number }> {
  return dialectOf(db) === 'postgres' ? rebuildRollupsPg(db, prices, batch) : rebuildRollups(db, prices, batch);
}

/** The quota counter columns UPSERT_TOTALS_SQL takes first (quota/persist.ts CounterCell); a rebuild leaves counters alone. */
const COUNTER_WIDTH = 7;

/**
 * rebuildRollups for Postgres: the same recomputation in one transaction, with the rollups upserted
 * by the ledger's own statement (additive, so batch after batch adds up). The events table is
 * locked against writes first: a gateway's ledger batch committing mid-rebuild would otherwise add
 * its rows to rollups this rebuild has just cleared and then count them a second time. The
 * gateways' batches wait (their rows stay buffered) until the rebuild commits.
 */
export async function rebuildRollupsPg(db: Db, prices: PriceBook, batch = 5000): Promise<{ events: number; priced: number }> {
  return transaction(db, async (tx) => {
    await execute(tx, 'LOCK TABLE usage_events IN SHARE MODE');
    for (const table of Object.values(GRAIN_TABLE)) await execute(tx, `DELETE FROM ${table}`);
    let events = 0;
    let priced = 0;
    for (let after = 0; ; ) {
      const rows = await query<Record<string, unknown> & { id: number }>(tx, 'SELECT * FROM usage_events WHERE id > ? ORDER BY id LIMIT ?', [after, batch]);
      if (rows.length === 0) break;
      after = rows.at(-1)!.id;
      const usageRows = [];
      for (const r of rows) {
        const row = decodeUsageRow(r);
        if (row.costNanoUsd === null && row.usage) {
          row.costNanoUsd = prices.costNanoUsd(row);
          if (row.costNanoUsd !== null) {
            await execute(tx, 'UPDATE usage_events SET cost_nano_usd = ? WHERE id = ?', [row.costNanoUsd, r.id]);
            priced++;
          }
        }
        usageRows.push(row);
      }
      const perGrain: Record<Grain, unknown[][]> = { h: [], d: [], m: [] };
      for (const a of accumulate(usageRows).values()) perGrain[a.grain].push([...a.keys, ...a.sums, ...a.maxes]);
      const values = [...Array.from({ length: COUNTER_WIDTH }, () => pgArrayLiteral([])), ...GRAINS.flatMap((g) => byColumn(perGrain[g], rollupColumns(g).length))];
      await query(tx, UPSERT_TOTALS_SQL, values);
      events += rows.length;
    }
    return { events, priced };
  });
}

/** Rows as one array literal per column, as the ledger's unnest statements take them. */
function byColumn(records: readonly (readonly unknown[])[], width: number): string[] {
  return Array.from({ length: width }, (_, c) => pgArrayLiteral(records.map((r) => r[c])));
}
