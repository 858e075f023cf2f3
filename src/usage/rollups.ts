import type { Db } from '../db/client.js';
import type { FlushHook } from '../metering/recorder.js';
import type { UsageRow } from '../metering/row.js';
import { BUCKETS, bucketOf } from './histogram.js';
import { floorTo, type TimeUnit } from './time.js';

export type Grain = 'h' | 'd' | 'm';
export const GRAIN_UNIT: Record<Grain, TimeUnit> = { h: 'hour', d: 'day', m: 'month' };
export const GRAIN_TABLE: Record<Grain, string> = { h: 'usage_rollups_hourly', d: 'usage_rollups_daily', m: 'usage_rollups_monthly' };

export const LAT_COLUMNS = Array.from({ length: BUCKETS }, (_, i) => `lat_${i}`);
export const TTFB_COLUMNS = Array.from({ length: BUCKETS }, (_, i) => `ttfb_${i}`);
/** Columns that add up when rollups merge, in the order the accumulator keeps them. */
export const SUM_COLUMNS = [
  'requests', 'prompt_tokens', 'cached_tokens', 'output_tokens', 'thoughts_tokens', 'tool_use_prompt_tokens',
  'total_tokens', 'cost_nano_usd', 'unpriced_requests', 'latency_sum_ms', ...LAT_COLUMNS, ...TTFB_COLUMNS,
] as const;
export const MAX_COLUMNS = ['latency_max_ms', 'ttfb_max_ms'] as const;
const KEY_COLUMNS = ['bucket_start', 'project_id', 'key_id', 'model', 'endpoint', 'outcome'];
const LAT0 = SUM_COLUMNS.indexOf('lat_0' as never);
const TTFB0 = SUM_COLUMNS.indexOf('ttfb_0' as never);

const upsertSql = (table: string) => `INSERT INTO ${table} (bucket_start, tenant_id, project_id, key_id, model, endpoint, outcome,
  ${SUM_COLUMNS.join(', ')}, ${MAX_COLUMNS.join(', ')})
  VALUES (${Array(7 + SUM_COLUMNS.length + MAX_COLUMNS.length).fill('?').join(',')})
  ON CONFLICT (${KEY_COLUMNS.join(', ')}) DO UPDATE SET
  ${SUM_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
  ${MAX_COLUMNS.map((c) => `${c} = max(${c}, excluded.${c})`).join(', ')}`;

interface Acc {
  grain: Grain;
  dims: [number, string, string, string, string, string, string];
  sums: number[];
  maxes: [number, number];
}

/**
 * Folds rows into (grain, bucket, project, key, model, endpoint, outcome) accumulators in memory,
 * then upserts each once: a batch of 500 rows from a few projects costs a few dozen statements.
 */
export function accumulate(rows: readonly UsageRow[]): Map<string, Acc> {
  const out = new Map<string, Acc>();
  for (const r of rows) {
    const model = r.model ?? '';
    const u = r.usage;
    const unpriced = u && r.costNanoUsd === null ? 1 : 0;
    for (const grain of ['h', 'd', 'm'] as const) {
      const bucket = floorTo(GRAIN_UNIT[grain], r.createdAt);
      const id = `${grain}\u0000${bucket}\u0000${r.projectId}\u0000${r.keyId}\u0000${model}\u0000${r.endpoint}\u0000${r.outcome}`;
      let a = out.get(id);
      if (!a) {
        a = { grain, dims: [bucket, r.tenantId, r.projectId, r.keyId, model, r.endpoint, r.outcome], sums: new Array<number>(SUM_COLUMNS.length).fill(0), maxes: [0, 0] };
        out.set(id, a);
      }
      const s = a.sums;
      s[0]! += 1;
      if (u) {
        s[1]! += u.promptTokens;
        s[2]! += u.cachedTokens;
        s[3]! += u.outputTokens;
        s[4]! += u.thoughtsTokens;
        s[5]! += u.toolUsePromptTokens;
        s[6]! += u.totalTokens;
      }
      s[7]! += r.costNanoUsd ?? 0;
      s[8]! += unpriced;
      s[9]! += r.latencyMs;
      s[LAT0 + bucketOf(r.latencyMs)]! += 1;
      if (r.latencyMs > a.maxes[0]) a.maxes[0] = r.latencyMs;
      if (r.ttfbMs !== null) {
        s[TTFB0 + bucketOf(r.ttfbMs)]! += 1;
        if (r.ttfbMs > a.maxes[1]) a.maxes[1] = r.ttfbMs;
      }
    }
  }
  return out;
}

/** The recorder hook that keeps hourly, daily and monthly rollups current in the batch's transaction. */
export function createRollupHook(db: Db): FlushHook {
  const upsert = { h: db.$client.prepare(upsertSql(GRAIN_TABLE.h)), d: db.$client.prepare(upsertSql(GRAIN_TABLE.d)), m: db.$client.prepare(upsertSql(GRAIN_TABLE.m)) };
  return (rows) => {
    for (const a of accumulate(rows).values()) upsert[a.grain].run(...a.dims, ...a.sums, ...a.maxes);
  };
}
