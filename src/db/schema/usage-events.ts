import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { usageCountColumns } from './usage-counts.js';

/** One row per proxied request, token columns exactly as upstream reported them. */
export const usageEvents = sqliteTable(
  'usage_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    createdAt: integer('created_at').notNull(),
    requestId: text('request_id').notNull(),
    tenantId: text('tenant_id').notNull(),
    projectId: text('project_id').notNull(),
    keyId: text('key_id').notNull(),
    upstreamKeyId: text('upstream_key_id'),
    method: text('method').notNull(),
    apiVersion: text('api_version'),
    endpoint: text('endpoint').notNull(),
    model: text('model'),
    stream: integer('stream').notNull(),
    status: integer('status').notNull(),
    outcome: text('outcome').notNull(),
    promptTokens: integer('prompt_tokens'),
    cachedTokens: integer('cached_tokens'),
    outputTokens: integer('output_tokens'),
    thoughtsTokens: integer('thoughts_tokens'),
    toolUsePromptTokens: integer('tool_use_prompt_tokens'),
    totalTokens: integer('total_tokens'),
    /** cachedContents creation only: usageMetadata.totalTokenCount, the tokens put into cache storage. */
    cacheStorageTokens: integer('cache_storage_tokens'),
    ...usageCountColumns(false),
    usageJson: text('usage_json'),
    ttfbMs: integer('ttfb_ms'),
    latencyMs: integer('latency_ms').notNull(),
    bytesIn: integer('bytes_in').notNull(),
    bytesOut: integer('bytes_out').notNull(),
    /** Estimated cost in nano-USD at the prices in force when the row was written; null = tokens from an unpriced model. */
    costNanoUsd: integer('cost_nano_usd'),
    /**
     * The ledger's idempotency key, unique per row (null on rows written before it existed): a batch
     * written twice adds nothing. Not request_id: a Live session's turns share its request id, and a
     * batches.get that sees a batch finish records its own row and the batch's usage row.
     */
    rowKey: text('row_key'),
  },
  (t) => [
    index('usage_events_project_time_idx').on(t.projectId, t.createdAt),
    index('usage_events_key_time_idx').on(t.keyId, t.createdAt),
    index('usage_events_request_id_idx').on(t.requestId),
    uniqueIndex('usage_events_row_key_uq').on(t.rowKey),
    index('usage_events_upstream_key_time_idx').on(t.upstreamKeyId, t.createdAt),
    // The raw events listing pages newest-first across all projects.
    index('usage_events_time_idx').on(t.createdAt),
  ],
);
