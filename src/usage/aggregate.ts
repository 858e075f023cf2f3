import type { Db } from '../db/client.js';
import { query } from '../db/dialect.js';
import { loadDisplayNames, type Where } from './filters.js';
import { BUCKETS } from '../db/schema/latency-buckets.js';
import { percentile } from './histogram.js';
import { rawSegmentRows } from './raw-aggregate.js';
import type { Dimension, GroupKey } from './params.js';
import { TOKEN_COLUMNS, TOKEN_FIELDS } from '../metering/columns.js';
import { GRAIN_TABLE, GRAIN_UNIT, LAT_COLUMNS, ROLLUP_KEYS, TTFB_COLUMNS, type Grain } from './rollups.js';
import { ceilTo, floorTo, formatBucket, BUCKET_UNITS_FINE_TO_COARSE, type BucketUnit } from '../calendar.js';

const TOKEN_KEYS = TOKEN_FIELDS;

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
type Row = Record<string, number | string | null>;
/** Runs raw SQL with `?` parameters (dialect.query, or a test's instrumented twin). */
type Run = (sql: string, params: unknown[]) => Promise<Row[]>;

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

/**
 * Sums usage over [from, to) by the requested keys: rollups for the whole hours, raw events (at most
 * two partial hours) for the edges, so any bounds are exact.
 */
export async function aggregateUsage(
  db: Db,
  q: { from: number; to: number; groupBy: GroupKey[]; where: Where },
  run: Run = (sql, params) => query<Row>(db, sql, params),
): Promise<AggregateResult> {
  const units = BUCKET_UNITS_FINE_TO_COARSE.filter((u) => q.groupBy.includes(u));
  const finest: BucketUnit | undefined = units[0];
  const dims = q.groupBy.filter((k): k is Dimension => k in DIM_COLUMN);
  const dimCols = dims.map((d) => DIM_COLUMN[d]);
  // A grain serves the query when it is no coarser than the time grouping and keeps every column grouped or filtered on.
  const needed = [...dimCols, ...q.where.columns];
  const byTime: Grain[] = finest === 'hour' ? ['h'] : finest === 'day' ? ['d', 'h'] : ['m', 'd', 'h'];
  const grains = byTime.filter((g) => needed.every((c) => c === 'tenant_id' || (ROLLUP_KEYS[g] as readonly string[]).includes(c)));
  // Each segment is grouped in SQL at its own grain; the few resulting rows are folded into the requested buckets here.
  const merged = new Map<string, { t: number | null; dims: string[]; agg: Agg }>();
  // Whole hours come from rollups; the partial hours at either edge (or all of a sub-hour range) from raw events.
  const hoursFrom = ceilTo('hour', q.from);
  const hoursTo = Math.max(hoursFrom, floorTo('hour', q.to));
  const timed = finest !== undefined;
  const sources = [];
  for (const seg of planSegments(hoursFrom, hoursTo, grains)) sources.push(await segmentRows(run, seg, timed, dimCols, q.where));
  sources.push(await rawSegmentRows(run, q.from, Math.min(hoursFrom, q.to), timed, dimCols, q.where));
  sources.push(await rawSegmentRows(run, Math.max(hoursTo, q.from), q.to, timed, dimCols, q.where));
  for (const rows of sources) {
    for (const r of rows) {
      const t = finest ? floorTo(finest, Number(r.bucket_start)) : null;
      const values = dimCols.map((c) => r[c] as string);
      const id = `${t}\u0000${values.join('\u0000')}`;
      const agg = readAgg(r);
      const hit = merged.get(id);
      if (hit) merge(hit.agg, agg);
      else merged.set(id, { t, dims: values, agg });
    }
  }
  const sorted = [...merged.values()].filter((m) => m.agg.requests > 0).sort((a, b) => (a.t ?? 0) - (b.t ?? 0) || compareLists(a.dims, b.dims));
  const labels = await loadDisplayNames(db, sorted.map((m) => Object.fromEntries(dimCols.map((c, i) => [c, m.dims[i]]))));

  const total = emptyAgg();
  const groups = sorted.map((m) => {
    merge(total, m.agg);
    const g: UsageGroup = {};
    for (const u of [...units].reverse()) g[u] = formatBucket(u, floorTo(u, m.t!));
    dims.forEach((d, i) => {
      const v = m.dims[i]!;
      if (d === 'tenant') Object.assign(g, { tenantId: v, tenant: labels.tenant(v) });
      else if (d === 'project') Object.assign(g, { projectId: v, project: labels.project(v) });
      else if (d === 'key') Object.assign(g, { keyId: v, keyPrefix: labels.key(v) });
      else g[d] = d === 'model' && v === '' ? null : v;
    });
    return Object.assign(g, metrics(m.agg));
  });
  const columns = [...[...units].reverse(), ...dims.flatMap((d) => DIM_KEYS[d]), ...METRIC_KEYS];
  return { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), groupBy: q.groupBy, columns, groups, totals: metrics(total) };
}

const AGGREGATES = [
  ...['requests', 'errors', 'aborted', ...TOKEN_COLUMNS, 'cost_nano_usd', 'unpriced_requests', 'latency_sum_ms', ...LAT_COLUMNS, ...TTFB_COLUMNS].map((c) => `SUM(${c}) AS ${c}`),
  'MAX(latency_max_ms) AS latency_max_ms',
  'MAX(ttfb_max_ms) AS ttfb_max_ms',
].join(', ');

/** One segment's rollups, grouped by its own buckets (when time is grouped) and the dimension columns. */
function segmentRows(run: Run, seg: Segment, byTime: boolean, dimCols: string[], where: Where): Promise<Row[]> {
  const keys = [...(byTime ? ['bucket_start'] : []), ...dimCols];
  const sql = `SELECT ${[...keys, AGGREGATES].join(', ')} FROM ${GRAIN_TABLE[seg.grain]}
    WHERE bucket_start >= ? AND bucket_start < ? AND (${where.sql})${keys.length ? ` GROUP BY ${keys.join(', ')}` : ''}`;
  return run(sql, [seg.from, seg.to, ...where.params]);
}

function compareLists(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = a[i]! < b[i]! ? -1 : a[i]! > b[i]! ? 1 : 0;
    if (c) return c;
  }
  return 0;
}

function emptyAgg(): Agg {
  return { requests: 0, errors: 0, aborted: 0, tokens: TOKEN_COLUMNS.map(() => 0), cost: 0, unpriced: 0, latSum: 0, latMax: 0, ttfbMax: 0, lat: new Array<number>(BUCKETS).fill(0), ttfb: new Array<number>(BUCKETS).fill(0) };
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
