import { index, integer, primaryKey, sqliteTable, text, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import { BUCKETS } from './latency-buckets.js';
import { usageCountColumns } from './usage-counts.js';

/**
 * The key columns of each grain besides bucket_start. Hourly rows keep every dimension; coarser
 * grains drop the ones that multiply rows without serving the long-range questions (outcome from
 * daily, key and outcome from monthly), which keeps a year of monthly rows to a few thousand.
 * A query that needs a dropped dimension reads the finer grain instead (see usage/aggregate.ts).
 */
export const ROLLUP_KEYS = {
  h: ['project_id', 'key_id', 'model', 'endpoint', 'outcome'],
  d: ['project_id', 'key_id', 'model', 'endpoint'],
  m: ['project_id', 'model', 'endpoint'],
} as const;

/** One integer column per histogram bucket (`lat_0` … / `ttfb_0` …), so SQL can sum them. */
function histogram(prefix: 'lat' | 'ttfb') {
  return Object.fromEntries(Array.from({ length: BUCKETS }, (_, i) => [`${prefix}${i}`, integer(`${prefix}_${i}`).notNull().default(0)]));
}

const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

/**
 * Usage pre-aggregated per UTC bucket and key columns, kept current by the recorder's batch
 * transaction. One table per grain: rows of a coarse grain then sit together on disk in time
 * order, so a 12-month scan reads a few pages sequentially. `model` is '' when unknown so the
 * primary key can upsert.
 */
function rollupTable(name: string, keys: readonly string[]) {
  const optional = { keyId: text('key_id').notNull(), outcome: text('outcome').notNull() };
  return sqliteTable(
    name,
    {
      bucketStart: integer('bucket_start').notNull(),
      /** Follows from project_id; kept so tenant filters and groupings need no join. */
      tenantId: text('tenant_id').notNull(),
      projectId: text('project_id').notNull(),
      ...(keys.includes('key_id') ? { keyId: optional.keyId } : {}),
      model: text('model').notNull(),
      endpoint: text('endpoint').notNull(),
      ...(keys.includes('outcome') ? { outcome: optional.outcome } : {}),
      requests: integer('requests').notNull(),
      /** Every outcome but ok, client_aborted and token_expired (usage/rollups.ts isError). */
      errors: integer('errors').notNull(),
      /** client_aborted outcomes. */
      aborted: integer('aborted').notNull(),
      promptTokens: integer('prompt_tokens').notNull(),
      cachedTokens: integer('cached_tokens').notNull(),
      outputTokens: integer('output_tokens').notNull(),
      thoughtsTokens: integer('thoughts_tokens').notNull(),
      toolUsePromptTokens: integer('tool_use_prompt_tokens').notNull(),
      totalTokens: integer('total_tokens').notNull(),
      cacheStorageTokens: integer('cache_storage_tokens').notNull(),
      ...usageCountColumns(true),
      costNanoUsd: integer('cost_nano_usd').notNull(),
      /** Rows with tokens whose model had no price (their cost is not in cost_nano_usd). */
      unpricedRequests: integer('unpriced_requests').notNull(),
      latencySumMs: integer('latency_sum_ms').notNull(),
      latencyMaxMs: integer('latency_max_ms').notNull(),
      ttfbMaxMs: integer('ttfb_max_ms').notNull(),
      ...histogram('lat'),
      ...histogram('ttfb'),
    },
    (t) => {
      const col = (c: string) => (t as unknown as Record<string, AnySQLiteColumn>)[camel(c)]!;
      return [
        primaryKey({ columns: [t.bucketStart, ...keys.map(col)] as [AnySQLiteColumn, ...AnySQLiteColumn[]] }),
        // Project-scoped queries (drill-down, self-service) read one project's buckets.
        index(`${name}_project_time_idx`).on(t.projectId, t.bucketStart),
      ];
    },
  );
}

export const usageRollupsHourly = rollupTable('usage_rollups_hourly', ROLLUP_KEYS.h);
export const usageRollupsDaily = rollupTable('usage_rollups_daily', ROLLUP_KEYS.d);
export const usageRollupsMonthly = rollupTable('usage_rollups_monthly', ROLLUP_KEYS.m);
