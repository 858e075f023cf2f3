import type { Statement } from 'better-sqlite3';
import type { Where } from './filters.js';
import { LATENCY_BOUNDS_MS } from '../db/schema/latency-buckets.js';
import { LAT_COLUMNS, TOKEN_COLUMNS, TTFB_COLUMNS } from './rollups.js';
import { HOUR_MS } from './time.js';

type Prepare = (sql: string) => Statement;

/** SQL twin of histogram.bucketOf: the first bound the value does not exceed, else the overflow bucket. */
const bucketCase = (col: string) =>
  `CASE ${LATENCY_BOUNDS_MS.map((b, i) => `WHEN ${col} <= ${b} THEN ${i}`).join(' ')} ELSE ${LATENCY_BOUNDS_MS.length} END`;

/**
 * The same columns a rollup row sums, computed from raw events with the recorder's rules (see
 * rollups.accumulate): tokens and "unpriced" only where usage was reported (total_tokens set),
 * TTFB buckets only where a first byte arrived. `model` is '' when unknown, as in the rollups.
 */
const AGGREGATES = [
  'COUNT(*) AS requests',
  "SUM(outcome NOT IN ('ok', 'client_aborted')) AS errors",
  "SUM(outcome = 'client_aborted') AS aborted",
  ...TOKEN_COLUMNS.map((c) => `SUM(${c}) AS ${c}`),
  'SUM(cost_nano_usd) AS cost_nano_usd',
  'SUM(total_tokens IS NOT NULL AND cost_nano_usd IS NULL) AS unpriced_requests',
  'SUM(latency_ms) AS latency_sum_ms',
  ...LAT_COLUMNS.map((c, i) => `SUM(lat_b = ${i}) AS ${c}`),
  ...TTFB_COLUMNS.map((c, i) => `SUM(ttfb_b = ${i}) AS ${c}`),
  'MAX(latency_ms) AS latency_max_ms',
  'MAX(ttfb_ms) AS ttfb_max_ms',
].join(', ');

const EVENTS = `SELECT tenant_id, project_id, key_id, COALESCE(model, '') AS model, endpoint, outcome,
  ${TOKEN_COLUMNS.join(', ')}, cost_nano_usd, latency_ms, ttfb_ms,
  created_at - created_at % ${HOUR_MS} AS bucket_start,
  ${bucketCase('latency_ms')} AS lat_b,
  CASE WHEN ttfb_ms IS NULL THEN NULL ELSE ${bucketCase('ttfb_ms')} END AS ttfb_b
  FROM usage_events WHERE created_at >= ? AND created_at < ?`;

/**
 * Raw events in [from, to) summed into rows shaped like rollup rows (same column names), grouped
 * by hour bucket (when time is grouped) and the dimension columns. Serves the partial hours at
 * either edge of a query, so any bound is answered exactly; the range scan on created_at goes
 * through usage_events_time_idx, or the (project|key, created_at) index when one is filtered on.
 */
export function rawSegmentRows(
  prepare: Prepare, from: number, to: number, byTime: boolean, dimCols: string[], where: Where,
): Record<string, number | string | null>[] {
  if (from >= to) return [];
  return prepare(rawSegmentSql(byTime, dimCols, where)).all(from, to, ...where.params) as Record<string, number | string | null>[];
}

/** The statement behind rawSegmentRows; its parameters are from, to, then the filter's. */
export function rawSegmentSql(byTime: boolean, dimCols: string[], where: Where): string {
  const keys = [...(byTime ? ['bucket_start'] : []), ...dimCols];
  return `SELECT ${[...keys, AGGREGATES].join(', ')} FROM (${EVENTS}) WHERE ${where.sql}${keys.length ? ` GROUP BY ${keys.join(', ')}` : ''}`;
}
