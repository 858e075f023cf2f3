import { decodeCursor, takePage, type Page } from '../db/pagination.js';
import type { Db } from '../db/client.js';
import { loadDisplayNames, type Where } from './filters.js';
import { COUNT_FIELDS, USAGE_COUNT_COLUMNS } from '../metering/counts.js';

/** Keys of each listed event, in order (also the CSV header). */
export const EVENT_COLUMNS = [
  'id', 'createdAt', 'requestId', 'tenantId', 'tenant', 'projectId', 'project', 'keyId', 'keyPrefix', 'method', 'apiVersion',
  'endpoint', 'model', 'stream', 'status', 'outcome', 'promptTokens', 'cachedTokens', 'outputTokens', 'thoughtsTokens',
  'toolUsePromptTokens', 'totalTokens', 'cacheStorageTokens', ...COUNT_FIELDS, 'estimatedCostUsd', 'ttfbMs', 'latencyMs', 'bytesIn', 'bytesOut',
] as const;

export type UsageEvent = Record<(typeof EVENT_COLUMNS)[number], string | number | boolean | null>;

interface EventRow {
  id: number; created_at: number; request_id: string; tenant_id: string; project_id: string; key_id: string;
  method: string; api_version: string | null; endpoint: string; model: string | null; stream: number; status: number;
  outcome: string; prompt_tokens: number | null; cached_tokens: number | null; output_tokens: number | null;
  thoughts_tokens: number | null; tool_use_prompt_tokens: number | null; total_tokens: number | null; cache_storage_tokens: number | null;
  cost_nano_usd: number | null; ttfb_ms: number | null; latency_ms: number; bytes_in: number; bytes_out: number;
  [count: string]: unknown;
}

/**
 * Raw usage rows, newest first, keyset-paginated on (created_at, id) so pages stay stable while
 * rows keep arriving and deep pages cost the same as the first.
 */
export function listEvents(
  db: Db,
  q: { from?: number; to?: number; where: Where; limit: number; cursor?: string },
): Page<UsageEvent> {
  const terms = [q.where.sql];
  const params = [...q.where.params];
  const add = (term: string, ...values: unknown[]) => {
    terms.push(term);
    params.push(...values);
  };
  if (q.from !== undefined) add('created_at >= ?', q.from);
  if (q.to !== undefined) add('created_at < ?', q.to);
  const cursor = decodeCursor(q.cursor);
  if (cursor) add('(created_at, id) < (?, ?)', cursor.at, cursor.id);
  const rows = db.$client
    .prepare(`SELECT * FROM usage_events WHERE ${terms.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`)
    .all(...params, q.limit + 1) as EventRow[];
  const labels = loadDisplayNames(db, rows.slice(0, q.limit));
  return takePage(rows, q.limit, (r) => ({ at: r.created_at, id: r.id }), (r) => ({
    id: r.id, createdAt: new Date(r.created_at).toISOString(), requestId: r.request_id,
    tenantId: r.tenant_id, tenant: labels.tenant(r.tenant_id), projectId: r.project_id, project: labels.project(r.project_id),
    keyId: r.key_id, keyPrefix: labels.key(r.key_id), method: r.method, apiVersion: r.api_version, endpoint: r.endpoint,
    model: r.model, stream: r.stream === 1, status: r.status, outcome: r.outcome, promptTokens: r.prompt_tokens,
    cachedTokens: r.cached_tokens, outputTokens: r.output_tokens, thoughtsTokens: r.thoughts_tokens,
    toolUsePromptTokens: r.tool_use_prompt_tokens, totalTokens: r.total_tokens, cacheStorageTokens: r.cache_storage_tokens,
    ...(Object.fromEntries(COUNT_FIELDS.map((f, i) => [f, r[USAGE_COUNT_COLUMNS[i]!] as number | null])) as Record<(typeof COUNT_FIELDS)[number], number | null>),
    estimatedCostUsd: r.cost_nano_usd === null ? null : r.cost_nano_usd / 1e9,
    ttfbMs: r.ttfb_ms, latencyMs: r.latency_ms, bytesIn: r.bytes_in, bytesOut: r.bytes_out,
  }));
}
