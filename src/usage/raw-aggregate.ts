import { LATENCY_BOUNDS_MS } from '../db/schema/latency-buckets.js';
import type { Where } from './filters.js';
import { TOKEN_COLUMNS } from '../metering/columns.js';
import { LAT_COLUMNS, TTFB_COLUMNS } from './rollups.js';
import { HOUR_MS } from '../calendar.js';

type Run = (sql: string, params: unknown[]) => Promise<Row[]>;
type Row = Record<string, number | string | null>;

/** SQL twin of histogram.bucketOf: the first bound the value does not exceed, else the overflow bucket. */
const bucketCase = (col: string) =>
  `CASE ${LATENCY_BOUNDS_MS.map((b, i) => `WHEN ${col} <= ${b} THEN ${i}`).join(' ')} ELSE ${LATENCY_BOUNDS_MS.length} END`;

/** A rollup key column as computed from a raw event; `model` is '' when unknown, as in the rollups. */
const KEY_EXPR: Record<string, string> = { bucket_start: `created_at - created_at % ${HOUR_MS}`, model: "COALESCE(model, '')" };

/**
 * Summed with the ledger's rules (see rollups.accumulate): tokens and "unpriced" only where usage
 * was reported (total_tokens set), TTFB only where a first byte arrived.
 */
const SUMS = [
  'COUNT(*) AS requests',
  "SUM(CASE WHEN outcome NOT IN ('ok', 'client_aborted', 'token_expired') THEN 1 ELSE 0 END) AS errors",
  "SUM(CASE WHEN outcome = 'client_aborted' THEN 1 ELSE 0 END) AS aborted",
  ...TOKEN_COLUMNS.map((c) => `SUM(${c}) AS ${c}`),
  'SUM(cost_nano_usd) AS cost_nano_usd',
  'SUM(CASE WHEN total_tokens IS NOT NULL AND cost_nano_usd IS NULL THEN 1 ELSE 0 END) AS unpriced_requests',
  'SUM(latency_ms) AS latency_sum_ms',
  'MAX(latency_ms) AS latency_max_ms',
  'MAX(ttfb_ms) AS ttfb_max_ms',
];
const ADDED = ['requests', 'errors', 'aborted', ...TOKEN_COLUMNS, 'cost_nano_usd', 'unpriced_requests', 'latency_sum_ms'];

/**
 * Raw events in [from, to) summed into rows shaped like rollup rows (same column names), grouped
 * by hour bucket (when time is grouped) and the dimension columns. Serves the partial hours at
 * either edge of a query, so any bound is answered exactly. SQL groups by the two histogram
 * buckets as well and the few rows per group are folded here: 48 conditional sums per event cost
 * several times more. The range scan on created_at goes through usage_events_time_idx, or the
 * (project|key, created_at) index when one is filtered on.
 */
export async function rawSegmentRows(run: Run, from: number, to: number, byTime: boolean, dimCols: string[], where: Where): Promise<Row[]> {
  if (from >= to) return [];
  const keys = [...(byTime ? ['bucket_start'] : []), ...dimCols];
  const folded = new Map<string, Row>();
  for (const r of await run(rawSegmentSql(byTime, dimCols, where), [from, to, ...where.params])) {
    const id = keys.map((k) => r[k]).join('\u0000');
    const acc: Row = folded.get(id) ?? Object.fromEntries([...keys.map((k) => [k, r[k]!]), ...[...ADDED, ...LAT_COLUMNS, ...TTFB_COLUMNS, 'latency_max_ms', 'ttfb_max_ms'].map((c) => [c, 0])]);
    folded.set(id, acc);
    for (const c of ADDED) acc[c] = (acc[c] as number) + Number(r[c] ?? 0);
    acc[LAT_COLUMNS[Number(r.lat_b)]!] = (acc[LAT_COLUMNS[Number(r.lat_b)]!] as number) + Number(r.requests);
    if (r.ttfb_b !== null) acc[TTFB_COLUMNS[Number(r.ttfb_b)]!] = (acc[TTFB_COLUMNS[Number(r.ttfb_b)]!] as number) + Number(r.requests);
    acc.latency_max_ms = Math.max(acc.latency_max_ms as number, Number(r.latency_max_ms ?? 0));
    acc.ttfb_max_ms = Math.max(acc.ttfb_max_ms as number, Number(r.ttfb_max_ms ?? 0));
  }
  return [...folded.values()];
}

/**
 * The statement behind rawSegmentRows; its parameters are from, to, then the filter's. Filters
 * read the raw columns: a model filter is never empty, so `model = ?` matches as the rollups' ''-for-null does.
 */
export function rawSegmentSql(byTime: boolean, dimCols: string[], where: Where): string {
  const keys = [...(byTime ? ['bucket_start'] : []), ...dimCols].map((k) => [KEY_EXPR[k] ?? k, k] as const);
  const buckets = [[bucketCase('latency_ms'), 'lat_b'], [`CASE WHEN ttfb_ms IS NULL THEN NULL ELSE ${bucketCase('ttfb_ms')} END`, 'ttfb_b']] as const;
  const groups = [...keys, ...buckets];
  return `SELECT ${[...groups.map(([expr, as]) => `${expr} AS ${as}`), ...SUMS].join(', ')}
    FROM usage_events WHERE created_at >= ? AND created_at < ? AND (${where.sql})
    GROUP BY ${groups.map(([expr]) => expr).join(', ')}`;
}
