import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { BUCKETS } from '../../usage/histogram.js';

/** One integer column per histogram bucket (`lat_0` … / `ttfb_0` …), so SQL can sum them. */
function histogram(prefix: 'lat' | 'ttfb') {
  return Object.fromEntries(Array.from({ length: BUCKETS }, (_, i) => [`${prefix}${i}`, integer(`${prefix}_${i}`).notNull().default(0)]));
}

/**
 * Usage pre-aggregated per (project, key, model, endpoint, outcome) and UTC bucket, kept current
 * by the recorder's batch transaction. `grain` is 'h' (hour), 'd' (day) or 'm' (month): the
 * hourly rows answer any hour-aligned range, the coarser ones keep long ranges to a few thousand
 * rows. `model` is '' when unknown so the primary key can upsert. Outcome is part of the key so
 * the `outcome` filter stays exact.
 */
export const usageRollups = sqliteTable(
  'usage_rollups',
  {
    grain: text('grain', { enum: ['h', 'd', 'm'] }).notNull(),
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
    primaryKey({ columns: [t.grain, t.bucketStart, t.projectId, t.keyId, t.model, t.endpoint, t.outcome] }),
    index('usage_rollups_project_idx').on(t.projectId, t.grain, t.bucketStart),
  ],
);
