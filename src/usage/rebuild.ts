import type { Db } from '../db/client.js';
import type { Outcome, UsageRow } from '../metering/row.js';
import { countsFromRow } from '../metering/counts.js';
import type { PriceBook } from './prices.js';
import { createRollupHook, GRAIN_TABLE } from './rollups.js';

interface EventRow {
  id: number; created_at: number; tenant_id: string; project_id: string; key_id: string; endpoint: string; model: string | null;
  outcome: Outcome; prompt_tokens: number | null; cached_tokens: number | null; output_tokens: number | null; thoughts_tokens: number | null;
  tool_use_prompt_tokens: number | null; total_tokens: number | null; cache_storage_tokens: number | null; cost_nano_usd: number | null; ttfb_ms: number | null; latency_ms: number;
  [count: string]: unknown;
}

/**
 * Recomputes every rollup from the raw events in one transaction, e.g. after upgrading a database
 * whose events predate the rollups. Rows without a cost (written before pricing, or by a model
 * priced since) are priced now from the price book; stored costs are kept as they were.
 */
export function rebuildRollups(db: Db, prices: PriceBook, batch = 5000): { events: number; priced: number } {
  const read = db.$client.prepare('SELECT * FROM usage_events WHERE id > ? ORDER BY id LIMIT ?');
  const setCost = db.$client.prepare('UPDATE usage_events SET cost_nano_usd = ? WHERE id = ?');
  const hook = createRollupHook(db);
  let events = 0;
  let priced = 0;
  db.$client.transaction(() => {
    for (const table of Object.values(GRAIN_TABLE)) db.$client.prepare(`DELETE FROM ${table}`).run();
    for (let after = 0; ; ) {
      const rows = read.all(after, batch) as EventRow[];
      if (rows.length === 0) break;
      after = rows.at(-1)!.id;
      const usageRows = rows.map((r) => {
        const row = toUsageRow(r);
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
  })();
  return { events, priced };
}

function toUsageRow(r: EventRow): UsageRow {
  const usage = r.total_tokens === null ? null : {
    promptTokens: r.prompt_tokens ?? 0, cachedTokens: r.cached_tokens ?? 0, outputTokens: r.output_tokens ?? 0,
    thoughtsTokens: r.thoughts_tokens ?? 0, toolUsePromptTokens: r.tool_use_prompt_tokens ?? 0, totalTokens: r.total_tokens, json: '',
    ...(r.cache_storage_tokens === null ? {} : { cacheStorageTokens: r.cache_storage_tokens }),
    ...countsFromRow(r),
  };
  return {
    createdAt: r.created_at, requestId: '', tenantId: r.tenant_id, projectId: r.project_id, keyId: r.key_id, upstreamKeyId: null,
    method: '', apiVersion: null, endpoint: r.endpoint, model: r.model, stream: 0, status: 0, outcome: r.outcome, usage,
    ttfbMs: r.ttfb_ms, latencyMs: r.latency_ms, bytesIn: 0, bytesOut: 0, costNanoUsd: r.cost_nano_usd,
  };
}

