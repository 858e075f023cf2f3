import { decodeCursor, takePage, type Page } from '../db/pagination.js';
import type { Db } from '../db/client.js';
import { query } from '../db/dialect.js';
import { decodeUsageRow } from '../metering/columns.js';
import { loadDisplayNames, type Where } from './filters.js';
import { COUNT_FIELDS } from '../metering/counts.js';

/** Keys of each listed event, in order (also the CSV header). */
export const EVENT_COLUMNS = [
  'id', 'createdAt', 'requestId', 'tenantId', 'tenant', 'projectId', 'project', 'keyId', 'keyPrefix', 'method', 'apiVersion',
  'endpoint', 'model', 'stream', 'status', 'outcome', 'promptTokens', 'cachedTokens', 'outputTokens', 'thoughtsTokens',
  'toolUsePromptTokens', 'totalTokens', 'cacheStorageTokens', ...COUNT_FIELDS, 'estimatedCostUsd', 'ttfbMs', 'latencyMs', 'bytesIn', 'bytesOut',
] as const;

export type UsageEvent = Record<(typeof EVENT_COLUMNS)[number], string | number | boolean | null>;

type EventRow = Record<string, unknown> & { id: number; created_at: number; tenant_id: string; project_id: string; key_id: string };

/**
 * Raw usage rows, newest first, keyset-paginated on (created_at, id) so pages stay stable while
 * rows keep arriving and deep pages cost the same as the first.
 */
export async function listEvents(
  db: Db,
  q: { from?: number; to?: number; where: Where; limit: number; cursor?: string },
): Promise<Page<UsageEvent>> {
  const terms = [q.where.sql];
  const params = [...q.where.params];
  const add = (term: string, ...values: unknown[]) => {
    terms.push(term);
    params.push(...values);
  };
  if (q.from !== undefined) add('created_at >= ?', q.from);
  if (q.to !== undefined) add('created_at < ?', q.to);
  const cursor = decodeCursor(q.cursor, 'integer');
  if (cursor) add('(created_at, id) < (?, ?)', cursor.at, cursor.id);
  const rows = await query<EventRow>(db, `SELECT * FROM usage_events WHERE (${terms.join(') AND (')}) ORDER BY created_at DESC, id DESC LIMIT ?`, [...params, q.limit + 1]);
  const labels = await loadDisplayNames(db, rows.slice(0, q.limit));
  return takePage(rows, q.limit, (r) => ({ at: r.created_at, id: r.id }), (stored) => {
    const r = decodeUsageRow(stored);
    const u = r.usage;
    return {
      id: stored.id, createdAt: new Date(r.createdAt).toISOString(), requestId: r.requestId,
      tenantId: r.tenantId, tenant: labels.tenant(r.tenantId), projectId: r.projectId, project: labels.project(r.projectId),
      keyId: r.keyId, keyPrefix: labels.key(r.keyId), method: r.method, apiVersion: r.apiVersion, endpoint: r.endpoint,
      model: r.model, stream: r.stream === 1, status: r.status, outcome: r.outcome, promptTokens: u?.promptTokens ?? null,
      cachedTokens: u?.cachedTokens ?? null, outputTokens: u?.outputTokens ?? null, thoughtsTokens: u?.thoughtsTokens ?? null,
      toolUsePromptTokens: u?.toolUsePromptTokens ?? null, totalTokens: u?.totalTokens ?? null, cacheStorageTokens: u?.cacheStorageTokens ?? null,
      ...(Object.fromEntries(COUNT_FIELDS.map((f) => [f, u ? (u[f] ?? 0) : null])) as Record<(typeof COUNT_FIELDS)[number], number | null>),
      estimatedCostUsd: r.costNanoUsd == null ? null : r.costNanoUsd / 1e9,
      ttfbMs: r.ttfbMs, latencyMs: r.latencyMs, bytesIn: r.bytesIn, bytesOut: r.bytesOut,
    };
  });
}
