import { bigint, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { big, epochMs } from './columns.js';
import { eventCountColumns } from './usage-counts.js';

export const usageEvents = pgTable(
  'usage_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    createdAt: epochMs('created_at').notNull(),
    requestId: text('request_id').notNull(),
    tenantId: text('tenant_id').notNull(),
    projectId: text('project_id').notNull(),
    keyId: text('key_id').notNull(),
    upstreamKeyId: text('upstream_key_id'),
    method: text('method').notNull(),
    apiVersion: text('api_version'),
    endpoint: text('endpoint').notNull(),
    model: text('model'),
    /** 0/1 as in SQLite, so both dialects return the same row shape. */
    stream: integer('stream').notNull(),
    status: integer('status').notNull(),
    outcome: text('outcome').notNull(),
    promptTokens: big('prompt_tokens'),
    cachedTokens: big('cached_tokens'),
    outputTokens: big('output_tokens'),
    thoughtsTokens: big('thoughts_tokens'),
    toolUsePromptTokens: big('tool_use_prompt_tokens'),
    totalTokens: big('total_tokens'),
    cacheStorageTokens: big('cache_storage_tokens'),
    ...eventCountColumns(),
    usageJson: text('usage_json'),
    ttfbMs: integer('ttfb_ms'),
    latencyMs: integer('latency_ms').notNull(),
    /** An upload may carry up to 2 GB, past int4. */
    bytesIn: big('bytes_in').notNull(),
    bytesOut: big('bytes_out').notNull(),
    costNanoUsd: big('cost_nano_usd'),
    /** The ledger's idempotency key: a batch written twice inserts each row once. */
    rowKey: text('row_key'),
  },
  (t) => [
    index('usage_events_project_time_idx').on(t.projectId, t.createdAt),
    index('usage_events_key_time_idx').on(t.keyId, t.createdAt),
    index('usage_events_request_id_idx').on(t.requestId),
    index('usage_events_upstream_key_time_idx').on(t.upstreamKeyId, t.createdAt),
    index('usage_events_time_idx').on(t.createdAt),
    uniqueIndex('usage_events_row_key_uq').on(t.rowKey),
  ],
);
