import type { UsageRow } from './row.js';
import type { Usage } from './usage.js';

/**
 * The one mapping between a usage row and the columns of usage_events. The ledger writes with
 * it, the events listing and the rollup rebuild read with it, and the rollups sum its token
 * columns. A new column (media counts, modality splits) is one line here plus a migration; a
 * Postgres or worker-thread writer reuses the same table. Plain data, no database handle.
 */

type SqlValue = string | number | null;
type RowField = Exclude<keyof UsageRow, 'usage'>;
type TokenField = Exclude<keyof Usage, 'json' | 'parts'>;

type ColumnSpec =
  /** A field of the row itself. */
  | { readonly column: string; readonly row: RowField; readonly optional?: true }
  /** A token count of the row's usage object: null when the row has no usage. */
  | { readonly column: string; readonly tokens: TokenField }
  /**
   * A per-modality or media count (db/schema/usage-counts.ts): 0 when the row has usage that
   * does not mention it, null when the row has no usage; read back only when non-zero.
   */
  | { readonly column: string; readonly tokens: TokenField; readonly count: true }
  /** The usage object as upstream sent it. */
  | { readonly column: 'usage_json'; readonly usageJson: true };

/** Every column of usage_events but `id`, in insert order. */
export const USAGE_EVENT_COLUMNS = [
  { column: 'created_at', row: 'createdAt' },
  { column: 'request_id', row: 'requestId' },
  { column: 'tenant_id', row: 'tenantId' },
  { column: 'project_id', row: 'projectId' },
  { column: 'key_id', row: 'keyId' },
  { column: 'upstream_key_id', row: 'upstreamKeyId' },
  { column: 'method', row: 'method' },
  { column: 'api_version', row: 'apiVersion' },
  { column: 'endpoint', row: 'endpoint' },
  { column: 'model', row: 'model' },
  { column: 'stream', row: 'stream' },
  { column: 'status', row: 'status' },
  { column: 'outcome', row: 'outcome' },
  { column: 'prompt_tokens', tokens: 'promptTokens' },
  { column: 'cached_tokens', tokens: 'cachedTokens' },
  { column: 'output_tokens', tokens: 'outputTokens' },
  { column: 'thoughts_tokens', tokens: 'thoughtsTokens' },
  { column: 'tool_use_prompt_tokens', tokens: 'toolUsePromptTokens' },
  { column: 'total_tokens', tokens: 'totalTokens' },
  { column: 'cache_storage_tokens', tokens: 'cacheStorageTokens' },
  { column: 'input_audio_tokens', tokens: 'inputAudioTokens', count: true },
  { column: 'input_image_tokens', tokens: 'inputImageTokens', count: true },
  { column: 'input_video_tokens', tokens: 'inputVideoTokens', count: true },
  { column: 'input_document_tokens', tokens: 'inputDocumentTokens', count: true },
  { column: 'cached_audio_tokens', tokens: 'cachedAudioTokens', count: true },
  { column: 'cached_image_tokens', tokens: 'cachedImageTokens', count: true },
  { column: 'cached_video_tokens', tokens: 'cachedVideoTokens', count: true },
  { column: 'cached_document_tokens', tokens: 'cachedDocumentTokens', count: true },
  { column: 'output_image_tokens', tokens: 'outputImageTokens', count: true },
  { column: 'output_audio_tokens', tokens: 'outputAudioTokens', count: true },
  { column: 'images', tokens: 'images', count: true },
  { column: 'video_seconds', tokens: 'videoSeconds', count: true },
  { column: 'usage_json', usageJson: true },
  { column: 'ttfb_ms', row: 'ttfbMs' },
  { column: 'latency_ms', row: 'latencyMs' },
  { column: 'bytes_in', row: 'bytesIn' },
  { column: 'bytes_out', row: 'bytesOut' },
  { column: 'cost_nano_usd', row: 'costNanoUsd' },
  // Optional on the row: absent, not null, when read back from a row written before it existed.
  { column: 'row_key', row: 'rowKey', optional: true },
] as const satisfies readonly ColumnSpec[];

type TokenSpec = Extract<(typeof USAGE_EVENT_COLUMNS)[number], { tokens: TokenField }>;

const TOKEN_SPECS = USAGE_EVENT_COLUMNS.filter((c): c is TokenSpec => 'tokens' in c);
/** The token and media count columns, summed as they are by the rollups. */
export const TOKEN_COLUMNS: readonly TokenSpec['column'][] = TOKEN_SPECS.map((c) => c.column);
/** The usage fields behind TOKEN_COLUMNS, in the same order. */
export const TOKEN_FIELDS: readonly TokenField[] = TOKEN_SPECS.map((c) => c.tokens);

export const INSERT_USAGE_EVENT_SQL = `INSERT INTO usage_events (${USAGE_EVENT_COLUMNS.map((c) => c.column).join(', ')}) VALUES (${USAGE_EVENT_COLUMNS.map(() => '?').join(',')})`;

/** The row's values in USAGE_EVENT_COLUMNS order, for INSERT_USAGE_EVENT_SQL. */
export function encodeUsageRow(r: UsageRow): SqlValue[] {
  const u = r.usage;
  const out: SqlValue[] = new Array(USAGE_EVENT_COLUMNS.length);
  for (let i = 0; i < USAGE_EVENT_COLUMNS.length; i++) {
    const c: ColumnSpec = USAGE_EVENT_COLUMNS[i]!;
    if ('row' in c) out[i] = (r[c.row] ?? null) as SqlValue;
    else if ('tokens' in c) out[i] = u ? (u[c.tokens] ?? ('count' in c ? 0 : null)) : null;
    else out[i] = u ? u.json : null;
  }
  return out;
}

/**
 * A stored row back as a UsageRow. No usage object when total_tokens is null: the ledger writes
 * all token columns from one usage object or none, and never a null total with one.
 */
export function decodeUsageRow(rec: Readonly<Record<string, unknown>>): UsageRow {
  const row: Record<string, unknown> = {};
  const usage: Record<string, unknown> | null = rec.total_tokens === null || rec.total_tokens === undefined ? null : {};
  for (const c of USAGE_EVENT_COLUMNS as readonly ColumnSpec[]) {
    const v = rec[c.column] ?? null;
    if ('row' in c) {
      if (v !== null || !('optional' in c)) row[c.row] = v;
    } else if (!usage) continue;
    else if ('count' in c) {
      if (typeof v === 'number' && v !== 0) usage[c.tokens] = v;
    } else if ('tokens' in c) {
      // Optional counts stay absent rather than null, as the meter produces them.
      if (v !== null) usage[c.tokens] = v;
      else if (c.tokens !== 'cacheStorageTokens') usage[c.tokens] = 0;
    } else usage.json = v ?? '';
  }
  row.usage = usage;
  return row as unknown as UsageRow;
}
