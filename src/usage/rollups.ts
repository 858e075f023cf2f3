import type { Database } from 'better-sqlite3';
import { ROLLUP_KEYS } from '../db/schema/usage-rollups.js';
import { TOKEN_COLUMNS, TOKEN_FIELDS } from '../metering/columns.js';
import type { Outcome, UsageRow } from '../metering/row.js';
import { BUCKETS } from '../db/schema/latency-buckets.js';
import { bucketOf } from './histogram.js';
import { floorTo, type BucketUnit } from '../calendar.js';

export type Grain = 'h' | 'd' | 'm';
export const GRAINS: readonly Grain[] = ['h', 'd', 'm'];
export const GRAIN_UNIT: Record<Grain, BucketUnit> = { h: 'hour', d: 'day', m: 'month' };
export const GRAIN_TABLE: Record<Grain, string> = { h: 'usage_rollups_hourly', d: 'usage_rollups_daily', m: 'usage_rollups_monthly' };
export { ROLLUP_KEYS };

/**
 * Every outcome but success, the client hanging up and a Live token running out (ends nobody failed)
 * counts as an error (upstream, timeout, refusal, quota cut). raw-aggregate.ts says the same in SQL.
 */
export const isError = (o: Outcome): boolean => o !== 'ok' && o !== 'client_aborted' && o !== 'token_expired';
export const LAT_COLUMNS = Array.from({ length: BUCKETS }, (_, i) => `lat_${i}`);
export const TTFB_COLUMNS = Array.from({ length: BUCKETS }, (_, i) => `ttfb_${i}`);
/** Columns that add up when rollups merge, in the order the accumulator keeps them. */
export const SUM_COLUMNS = [
  'requests', 'errors', 'aborted', ...TOKEN_COLUMNS, 'cost_nano_usd', 'unpriced_requests', 'latency_sum_ms', ...LAT_COLUMNS, ...TTFB_COLUMNS,
] as const;
export const MAX_COLUMNS = ['latency_max_ms', 'ttfb_max_ms'] as const;
const at = (c: string) => SUM_COLUMNS.indexOf(c as never);
const [REQUESTS, ERRORS, ABORTED, TOKENS0, COST, UNPRICED, LAT_SUM, LAT0, TTFB0] =
  ['requests', 'errors', 'aborted', 'prompt_tokens', 'cost_nano_usd', 'unpriced_requests', 'latency_sum_ms', 'lat_0', 'ttfb_0'].map(at) as number[] as [number, number, number, number, number, number, number, number, number];

function upsertSql(grain: Grain): string {
  const keys = ['bucket_start', ...ROLLUP_KEYS[grain]];
  const cols = [...keys, 'tenant_id', ...SUM_COLUMNS, ...MAX_COLUMNS];
  return `INSERT INTO ${GRAIN_TABLE[grain]} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(',')})
    ON CONFLICT (${keys.join(', ')}) DO UPDATE SET
    ${SUM_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
    ${MAX_COLUMNS.map((c) => `${c} = max(${c}, excluded.${c})`).join(', ')}`;
}

interface Acc {
  grain: Grain;
  /** bucket_start, the grain's key values, then tenant_id: the upsert's leading parameters. */
  keys: (string | number)[];
  sums: number[];
  maxes: [number, number];
}

const KEY_VALUE: Record<string, (r: UsageRow) => string> = {
  project_id: (r) => r.projectId,
  key_id: (r) => r.keyId,
  model: (r) => r.model ?? '',
  endpoint: (r) => r.endpoint,
  outcome: (r) => r.outcome,
};

const GRAIN_KEY_VALUES = GRAINS.map((g) => ROLLUP_KEYS[g].map((k) => KEY_VALUE[k]!));

/**
 * Folds rows into per-grain accumulators in memory, then upserts each once: a batch of 500 rows
 * from a few projects costs a few dozen statements. Runs for every batch on the writer (the SQLite
 * worker, or the event loop for Postgres). A row with the same hour, project, key, model, endpoint
 * and outcome as the one before it (most rows of a busy batch) reuses that row's accumulators, so
 * only a change of those builds the grains' lookup strings; a row's usage is read once, not per grain.
 */
export function accumulate(rows: readonly UsageRow[]): Map<string, Acc> {
  const out = new Map<string, Acc>();
  let lastDay = NaN;
  let lastMonth = 0;
  let prev: UsageRow | null = null;
  let prevHour = NaN;
  const accs: Acc[] = [];
  const tokens = new Array<number>(TOKEN_FIELDS.length).fill(0);
  for (const r of rows) {
    const hour = floorTo('hour', r.createdAt);
    if (prev === null || hour !== prevHour || !sameRollupKeys(prev, r)) {
      const day = floorTo('day', r.createdAt);
      // Month starts need a Date; rows of a batch nearly always share their day.
      if (day !== lastDay) {
        lastDay = day;
        lastMonth = floorTo('month', r.createdAt);
      }
      for (let g = 0; g < GRAINS.length; g++) {
        const grain = GRAINS[g]!;
        const bucket = grain === 'h' ? hour : grain === 'd' ? day : lastMonth;
        const fns = GRAIN_KEY_VALUES[g]!;
        let id = `${grain}\u0000${bucket}`;
        for (let k = 0; k < fns.length; k++) id += `\u0000${fns[k]!(r)}`;
        let a = out.get(id);
        if (!a) out.set(id, (a = { grain, keys: [bucket, ...fns.map((f) => f(r)), r.tenantId], sums: new Array<number>(SUM_COLUMNS.length).fill(0), maxes: [0, 0] }));
        accs[g] = a;
      }
      prev = r;
      prevHour = hour;
    }
    const u = r.usage;
    if (u) for (let i = 0; i < TOKEN_FIELDS.length; i++) tokens[i] = u[TOKEN_FIELDS[i]!] ?? 0;
    const error = isError(r.outcome);
    const aborted = r.outcome === 'client_aborted';
    const latBucket = LAT0 + bucketOf(r.latencyMs);
    const ttfbBucket = r.ttfbMs === null ? -1 : TTFB0 + bucketOf(r.ttfbMs);
    for (let g = 0; g < GRAINS.length; g++) {
      const a = accs[g]!;
      const s = a.sums;
      s[REQUESTS]! += 1;
      if (error) s[ERRORS]! += 1;
      if (aborted) s[ABORTED]! += 1;
      if (u) {
        for (let i = 0; i < tokens.length; i++) s[TOKENS0 + i]! += tokens[i]!;
        if (r.costNanoUsd === null) s[UNPRICED]! += 1;
      }
      s[COST]! += r.costNanoUsd ?? 0;
      s[LAT_SUM]! += r.latencyMs;
      s[latBucket]! += 1;
      if (r.latencyMs > a.maxes[0]) a.maxes[0] = r.latencyMs;
      if (ttfbBucket >= 0) {
        s[ttfbBucket]! += 1;
        if (r.ttfbMs! > a.maxes[1]) a.maxes[1] = r.ttfbMs!;
      }
    }
  }
  return out;
}

/** Whether two rows fall in the same accumulators of every grain once their hour matches (the hourly keys cover the others). */
const sameRollupKeys = (a: UsageRow, b: UsageRow): boolean =>
  a.projectId === b.projectId && a.keyId === b.keyId && a.model === b.model && a.endpoint === b.endpoint && a.outcome === b.outcome;

/**
 * SQLite's side of the rollups: upserts what `accumulate` folded, inside the caller's transaction
 * (the ledger's batch, or a rebuild). A Postgres writer reuses `accumulate` with its own upsert.
 */
export function createRollupWriter(sqlite: Database): (rows: readonly UsageRow[]) => void {
  const upsert = { h: sqlite.prepare(upsertSql('h')), d: sqlite.prepare(upsertSql('d')), m: sqlite.prepare(upsertSql('m')) };
  return (rows) => {
    for (const a of accumulate(rows).values()) upsert[a.grain].run(...a.keys, ...a.sums, ...a.maxes);
  };
}
