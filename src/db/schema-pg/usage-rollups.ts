import { index, pgTable, primaryKey, text, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { BUCKETS } from '../schema/latency-buckets.js';
import { ROLLUP_KEYS } from '../schema/usage-rollups.js';
import { big, epochMs } from './columns.js';
import { rollupCountColumns } from './usage-counts.js';

/** Same shape as ../schema/usage-rollups.ts; every additive column is int8 since months of sums pass 2^31. */
function histogram(prefix: 'lat' | 'ttfb') {
  return Object.fromEntries(Array.from({ length: BUCKETS }, (_, i) => [`${prefix}${i}`, big(`${prefix}_${i}`).notNull().default(0)]));
}

const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

function rollupTable(name: string, keys: readonly string[]) {
  const optional = { keyId: text('key_id').notNull(), outcome: text('outcome').notNull() };
  return pgTable(
    name,
    {
      bucketStart: epochMs('bucket_start').notNull(),
      tenantId: text('tenant_id').notNull(),
      projectId: text('project_id').notNull(),
      ...(keys.includes('key_id') ? { keyId: optional.keyId } : {}),
      model: text('model').notNull(),
      endpoint: text('endpoint').notNull(),
      ...(keys.includes('outcome') ? { outcome: optional.outcome } : {}),
      requests: big('requests').notNull(),
      errors: big('errors').notNull(),
      aborted: big('aborted').notNull(),
      promptTokens: big('prompt_tokens').notNull(),
      cachedTokens: big('cached_tokens').notNull(),
      outputTokens: big('output_tokens').notNull(),
      thoughtsTokens: big('thoughts_tokens').notNull(),
      toolUsePromptTokens: big('tool_use_prompt_tokens').notNull(),
      totalTokens: big('total_tokens').notNull(),
      cacheStorageTokens: big('cache_storage_tokens').notNull(),
      ...rollupCountColumns(),
      costNanoUsd: big('cost_nano_usd').notNull(),
      unpricedRequests: big('unpriced_requests').notNull(),
      latencySumMs: big('latency_sum_ms').notNull(),
      latencyMaxMs: big('latency_max_ms').notNull(),
      ttfbMaxMs: big('ttfb_max_ms').notNull(),
      ...histogram('lat'),
      ...histogram('ttfb'),
    },
    (t) => {
      const col = (c: string) => (t as unknown as Record<string, AnyPgColumn>)[camel(c)]!;
      return [
        primaryKey({ name: `${name}_pk`, columns: [t.bucketStart, ...keys.map(col)] as [AnyPgColumn, ...AnyPgColumn[]] }),
        index(`${name}_project_time_idx`).on(t.projectId, t.bucketStart),
      ];
    },
  );
}

export const usageRollupsHourly = rollupTable('usage_rollups_hourly', ROLLUP_KEYS.h);
export const usageRollupsDaily = rollupTable('usage_rollups_daily', ROLLUP_KEYS.d);
export const usageRollupsMonthly = rollupTable('usage_rollups_monthly', ROLLUP_KEYS.m);
