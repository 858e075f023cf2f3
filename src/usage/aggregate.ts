import type { Db } from '../db/client.js';
import { loadLabels, type Where } from './filters.js';
import { BUCKETS, percentile } from './histogram.js';
import type { Dimension, GroupKey } from './params.js';
import { GRAIN_UNIT, LAT_COLUMNS, TTFB_COLUMNS, type Grain } from './rollups.js';
import { ceilTo, floorTo, formatBucket, TIME_UNITS_FINE_TO_COARSE, type TimeUnit } from './time.js';

const ERROR_OUTCOMES = "('upstream_error', 'upstream_aborted', 'gateway_error')";
const TOKEN_COLUMNS = ['prompt_tokens', 'cached_tokens', 'output_tokens', 'thoughts_tokens', 'tool_use_prompt_tokens', 'total_tokens'] as const;
const TOKEN_KEYS = ['promptTokens', 'cachedTokens', 'outputTokens', 'thoughtsTokens', 'toolUsePromptTokens', 'totalTokens'] as const;

/** Every group and the totals carry these, in this order (also the CSV's metric columns). */
export const METRIC_KEYS = [
  'requests', 'errors', 'aborted', ...TOKEN_KEYS, 'estimatedCostUsd', 'unpricedRequests',
  'latencyMsAvg', 'latencyMsP50', 'latencyMsP95', 'ttfbMsP50', 'ttfbMsP95',
] as const;

const DIM_COLUMN: Record<Dimension, string> = { tenant: 'tenant_id', project: 'project_id', key: 'key_id', model: 'model', endpoint: 'endpoint', outcome: 'outcome' };
const DIM_KEYS: Record<Dimension, string[]> = {
  tenant: ['tenantId', 'tenant'], project: ['projectId', 'project'], key: ['keyId', 'keyPrefix'], model: ['model'], endpoint: ['endpoint'], outcome: ['outcome'],
};

export type UsageGroup = Record<string, string | number | null>;
export interface AggregateResult {
  from: string;
  to: string;
  groupBy: GroupKey[];
  /** Keys of each group, in order: the CSV header. */
  columns: string[];
  groups: UsageGroup[];
  totals: UsageGroup;
}

interface Agg {
  requests: number; errors: number; aborted: number; tokens: number[]; cost: number; unpriced: number;
  latSum: number; latMax: number; ttfbMax: number; lat: number[]; ttfb: number[];
}

interface Segment { grain: Grain; from: number; to: number }

/**
 * Splits [from, to) into the coarsest rollup rows that fit: whole months from monthly rows, whole
 * days from daily rows, the rest hourly. Grouping by a unit limits the grains to that unit or finer.
 */
export function planSegments(from: number, to: number, grains: Grain[]): Segment[] {
  if (from >= to) return [];
  const [g, ...finer] = grains as [Grain, ...Grain[]];
  if (finer.length === 0) return [{ grain: g, from, to }];
  const a = ceilTo(GRAIN_UNIT[g], from);
  const b = floorTo(GRAIN_UNIT[g], to);
  if (a >= b) return planSegments(from, to, finer);
  return [...planSegments(from, a, finer), { grain: g, from: a, to: b }, ...planSegments(b, to, finer)];
}

/** Sums rollups over hour-aligned [from, to) by the requested keys; never reads raw events. */
export function aggregateUsage(db: Db, q: { from: number; to: number; groupBy: GroupKey[]; where: Where }): AggregateResult {
  const units = TIME_UNITS_FINE_TO_COARSE.filter((u) => q.groupBy.includes(u));
  const finest: TimeUnit | undefined = units[0];
  const dims = q.groupBy.filter((k): k is Dimension => k in DIM_COLUMN);
  const grains: Grain[] = finest === 'hour' ? ['h'] : finest === 'day' ? ['d', 'h'] : ['m', 'd', 'h'];
  const segs = planSegments(q.from, q.to, grains);
  const timeExpr = finest === 'hour' ? 'bucket_start'
    : finest === 'day' ? 'bucket_start - bucket_start % 86400000'
    : finest === 'month' ? "CASE WHEN grain = 'm' THEN bucket_start ELSE CAST(strftime('%s', bucket_start / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000 END"
    : null;
  const keys = [...(timeExpr ? [`${timeExpr} AS t`] : []), ...dims.map((d) => DIM_COLUMN[d])];
  const groupCols = [...(timeExpr ? ['t'] : []), ...dims.map((d) => DIM_COLUMN[d])];
  const sql = `SELECT ${[...keys,
    'SUM(requests) AS requests',
    `SUM(CASE WHEN outcome IN ${ERROR_OUTCOMES} THEN requests ELSE 0 END) AS errors`,
    "SUM(CASE WHEN outcome = 'client_aborted' THEN requests ELSE 0 END) AS aborted",
    ...[...TOKEN_COLUMNS, 'cost_nano_usd', 'unpriced_requests', 'latency_sum_ms', ...LAT_COLUMNS, ...TTFB_COLUMNS].map((c) => `SUM(${c}) AS ${c}`),
    'MAX(latency_max_ms) AS latency_max_ms', 'MAX(ttfb_max_ms) AS ttfb_max_ms'].join(', ')}
    FROM usage_rollups
    WHERE (${segs.map(() => '(grain = ? AND bucket_start >= ? AND bucket_start < ?)').join(' OR ') || '0'}) AND ${q.where.sql}
    ${groupCols.length ? `GROUP BY ${groupCols.join(', ')} ORDER BY ${groupCols.join(', ')}` : ''}`;
  const params = [...segs.flatMap((s) => [s.grain, s.from, s.to]), ...q.where.params];
  const rows = (db.$client.prepare(sql).all(...params) as Record<string, number | string | null>[]).filter((r) => Number(r.requests) > 0);
  const labels = loadLabels(db, rows as { tenant_id?: string; project_id?: string; key_id?: string }[]);

  const total = emptyAgg();
  const groups = rows.map((r) => {
    const agg = readAgg(r);
    merge(total, agg);
    const g: UsageGroup = {};
    for (const u of [...units].reverse()) g[u] = formatBucket(u, floorTo(u, r.t as number));
    for (const d of dims) {
      const v = r[DIM_COLUMN[d]] as string;
      if (d === 'tenant') Object.assign(g, { tenantId: v, tenant: labels.tenant(v) });
      else if (d === 'project') Object.assign(g, { projectId: v, project: labels.project(v) });
      else if (d === 'key') Object.assign(g, { keyId: v, keyPrefix: labels.key(v) });
      else g[d] = d === 'model' && v === '' ? null : v;
    }
    return Object.assign(g, metrics(agg));
  });
  const columns = [...[...units].reverse(), ...dims.flatMap((d) => DIM_KEYS[d]), ...METRIC_KEYS];
  return { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), groupBy: q.groupBy, columns, groups, totals: metrics(total) };
}

function emptyAgg(): Agg {
  return { requests: 0, errors: 0, aborted: 0, tokens: [0, 0, 0, 0, 0, 0], cost: 0, unpriced: 0, latSum: 0, latMax: 0, ttfbMax: 0, lat: new Array<number>(BUCKETS).fill(0), ttfb: new Array<number>(BUCKETS).fill(0) };
}

function readAgg(r: Record<string, number | string | null>): Agg {
  const n = (c: string) => Number(r[c] ?? 0);
  return {
    requests: n('requests'), errors: n('errors'), aborted: n('aborted'), tokens: TOKEN_COLUMNS.map(n),
    cost: n('cost_nano_usd'), unpriced: n('unpriced_requests'), latSum: n('latency_sum_ms'),
    latMax: n('latency_max_ms'), ttfbMax: n('ttfb_max_ms'), lat: LAT_COLUMNS.map(n), ttfb: TTFB_COLUMNS.map(n),
  };
}

function merge(into: Agg, a: Agg): void {
  into.requests += a.requests;
  into.errors += a.errors;
  into.aborted += a.aborted;
  into.cost += a.cost;
  into.unpriced += a.unpriced;
  into.latSum += a.latSum;
  into.latMax = Math.max(into.latMax, a.latMax);
  into.ttfbMax = Math.max(into.ttfbMax, a.ttfbMax);
  a.tokens.forEach((v, i) => (into.tokens[i]! += v));
  a.lat.forEach((v, i) => (into.lat[i]! += v));
  a.ttfb.forEach((v, i) => (into.ttfb[i]! += v));
}

/**
 * The public numbers. Cost is null only when the group's sole tokens came from unpriced models;
 * otherwise it sums the priced rows and `unpricedRequests` says how many were left out.
 */
function metrics(a: Agg): UsageGroup {
  const out: UsageGroup = { requests: a.requests, errors: a.errors, aborted: a.aborted };
  TOKEN_KEYS.forEach((k, i) => (out[k] = a.tokens[i]!));
  out.estimatedCostUsd = a.cost === 0 && a.unpriced > 0 ? null : a.cost / 1e9;
  out.unpricedRequests = a.unpriced;
  out.latencyMsAvg = a.requests ? Math.round(a.latSum / a.requests) : null;
  out.latencyMsP50 = percentile(a.lat, 0.5, a.latMax);
  out.latencyMsP95 = percentile(a.lat, 0.95, a.latMax);
  out.ttfbMsP50 = percentile(a.ttfb, 0.5, a.ttfbMax);
  out.ttfbMsP95 = percentile(a.ttfb, 0.95, a.ttfbMax);
  return out;
}
