import type { Database } from 'better-sqlite3';
import type { UsageRow } from '../metering/row.js';
import type { CounterDimension } from './counters.js';
import { WINDOW_KINDS, windowStart } from './windows.js';

/**
 * What a usage row adds to the quota counters, in memory and in SQLite alike: its metered total
 * tokens, and one request unless the gateway answered it itself (refused before anything went upstream).
 */
export function rowCharge(row: Pick<UsageRow, 'usage' | 'outcome'> & { endpoint?: string }): { tokens: number; request: boolean } {
  // A Live session is one request (its `live_session` row); its per-turn `live` rows carry only tokens.
  // So does a finished batch or Veo operation (`….completed`): the request that started it was counted then.
  return { tokens: row.usage?.totalTokens ?? 0, request: row.outcome !== 'gateway_error' && row.endpoint !== 'live' && !isCompletion(row.endpoint) };
}

/** The extra row of a long-running resource seen finished (ownership/completion.ts): usage without a request. */
const isCompletion = (endpoint: string | undefined): boolean => endpoint !== undefined && endpoint.endsWith('.completed');

/** The slices of a project a request counts in. */
export function dimensionsOf(keyId: string, model: string | null): Array<[CounterDimension, string]> {
  return model ? [['project', ''], ['key', keyId], ['model', model]] : [['project', ''], ['key', keyId]];
}

export type CounterCell = [projectId: string, dim: CounterDimension, value: string, kind: string, start: number, tokens: number, requests: number];

/**
 * What a batch of rows adds to quota_counters, summed per cell: tokens count in the window the
 * request ended in, requests in the window it was admitted in, as they do in memory. Pure, so
 * every dialect's writer applies the same cells.
 */
export function counterCells(rows: readonly UsageRow[]): CounterCell[] {
  const cells = new Map<string, CounterCell>();
  const add = (projectId: string, dim: CounterDimension, value: string, kind: string, start: number, tokens: number, requests: number): void => {
    const id = `${projectId}\u0000${dim}\u0000${value}\u0000${kind}\u0000${start}`;
    const cell = cells.get(id);
    if (cell) {
      cell[5] += tokens;
      cell[6] += requests;
    } else cells.set(id, [projectId, dim, value, kind, start, tokens, requests]);
  };
  // Rows are first summed per (project, key, model, minute ended, minute admitted): every window
  // kind follows from the minute, so the per-window expansion runs once per group, not per row.
  type Group = { projectId: string; keyId: string; model: string | null; endMinute: number; startMinute: number; tokens: number; requests: number };
  const groups = new Map<string, Group>();
  for (const row of rows) {
    const { tokens, request } = rowCharge(row);
    if (tokens === 0 && !request) continue;
    const endMinute = windowStart('minute', row.createdAt);
    const startMinute = windowStart('minute', row.createdAt - row.latencyMs);
    const id = `${row.projectId}\u0000${row.keyId}\u0000${row.model ?? ''}\u0000${endMinute}\u0000${startMinute}`;
    const g = groups.get(id);
    if (g) {
      g.tokens += tokens;
      g.requests += request ? 1 : 0;
    } else groups.set(id, { projectId: row.projectId, keyId: row.keyId, model: row.model, endMinute, startMinute, tokens, requests: request ? 1 : 0 });
  }
  for (const g of groups.values()) {
    for (const [dim, value] of dimensionsOf(g.keyId, g.model)) {
      for (const kind of WINDOW_KINDS) {
        if (g.tokens) add(g.projectId, dim, value, kind, windowStart(kind, g.endMinute), g.tokens, 0);
        if (g.requests) add(g.projectId, dim, value, kind, windowStart(kind, g.startMinute), 0, g.requests);
      }
    }
  }
  return [...cells.values()];
}

/**
 * SQLite's side of counter persistence: adds a batch's cells to quota_counters inside the ledger's
 * transaction, so the persisted counters always equal the persisted rows (a crash loses both or
 * neither). Windows that have ended are pruned once per minute.
 */
export function createCounterWriter(sqlite: Database): (rows: readonly UsageRow[]) => void {
  const upsert = sqlite.prepare(
    `INSERT INTO quota_counters (project_id, dimension, value, window_kind, window_start, tokens, requests) VALUES (?,?,?,?,?,?,?)
     ON CONFLICT (project_id, dimension, value, window_kind, window_start)
     DO UPDATE SET tokens = tokens + excluded.tokens, requests = requests + excluded.requests`,
  );
  const prune = sqlite.prepare('DELETE FROM quota_counters WHERE window_kind = ? AND window_start < ?');
  const due = createPruneSchedule();
  return (rows) => {
    for (const cell of counterCells(rows)) upsert.run(...cell);
    for (const [kind, start] of due(rows)) prune.run(kind, start);
  };
}

/**
 * When a writer prunes ended windows: at most once per minute of row time, and then, per window
 * kind, every counter that starts before the current window is over. Shared by both dialects' writers.
 */
export function createPruneSchedule(): (rows: readonly UsageRow[]) => Array<[kind: string, before: number]> {
  let prunedMinute = 0;
  return (rows) => {
    let latest = 0;
    for (const row of rows) if (row.createdAt > latest) latest = row.createdAt;
    const minute = windowStart('minute', latest);
    if (minute <= prunedMinute) return [];
    prunedMinute = minute;
    return WINDOW_KINDS.map((kind) => [kind, windowStart(kind, latest)]);
  };
}
