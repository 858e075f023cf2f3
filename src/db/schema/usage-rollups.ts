import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { BUCKETS } from '../../usage/histogram.js';

/** One integer column per histogram bucket (`lat_0` … / `ttfb_0` …), so SQL can sum them. */
function histogram(prefix: 'lat' | 'ttfb') {
  return Object.fromEntries(Array.from({ length: BUCKETS }, (_, i) => [`${prefix}${i}`, integer(`${prefix}_${i}`).notNull().default(0)]));
}

/**
 * Usage pre-aggregated per (project, key, model, endpoint, outcome) and UTC bucket, kept current
 * by the recorder's batch transaction. One table per grain rather than a grain column: rows of a
 * coarse grain then sit together on disk in time order, so a 12-month scan reads a few pages
 * sequentially instead of seeking between hourly rows. `model` is '' when unknown so the primary
 * key can upsert; outcome is part of the key so the `outcome` filter stays exact.
 */
function rollupTable(name: string) {
  return sqliteTable(
    name,
    {
      bucketStart: integer('bucket_start').notNull(),
      tenantId: text('tenant_id').notNull(),
      projectId: text('project_id').notNull(),
      keyId: text('key_id').notNull(),
      model: text('model').notNull(),
      endpoint: text('endpoint').notNull(),
      outcome: text('outcome').notNull(),
      requests: integer('requests').notNull(),
      promptTokens: integer('prompt_tokens').notNull(),
      cachedTokens: integer('cached_tokens').notNull(),
      outputTokens: integer('output_tokens').notNull(),
      thoughtsTokens: integer('thoughts_tokens').notNull(),
      toolUsePromptTokens: integer('tool_use_prompt_tokens').notNull(),
      totalTokens: integer('total_tokens').notNull(),
      costNanoUsd: integer('cost_nano_usd').notNull(),
      /** Rows with tokens whose model had no price (their cost is not in cost_nano_usd). */
      unpricedRequests: integer('unpriced_requests').notNull(),
      latencySumMs: integer('latency_sum_ms').notNull(),
      latencyMaxMs: integer('latency_max_ms').notNull(),
      ttfbMaxMs: integer('ttfb_max_ms').notNull(),
      ...histogram('lat'),
      ...histogram('ttfb'),
    },
    (t) => [
      primaryKey({ columns: [t.bucketStart, t.projectId, t.keyId, t.model, t.endpoint, t.outcome] }),
      // Project-scoped queries (drill-down, self-service) read one project's buckets.
      index(`${name}_project_time_idx`).on(t.projectId, t.bucketStart),
    ],
  );
}

export const usageRollupsHourly = rollupTable('usage_rollups_hourly');
export const usageRollupsDaily = rollupTable('usage_rollups_daily');
export const usageRollupsMonthly = rollupTable('usage_rollups_monthly');
