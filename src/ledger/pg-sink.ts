import type pg from 'pg';
import { scrubDbText } from '../db/pg-url.js';
import { encodeUsageRow, USAGE_EVENT_COLUMNS } from '../metering/columns.js';
import type { UsageRow } from '../metering/row.js';
import { counterCells, createPruneSchedule } from '../quota/persist.js';
import { accumulate, GRAINS, type Grain } from '../usage/rollups.js';
import { RefusedAsData, type LedgerBatch, type LedgerSink } from './batch.js';
import { pgArrayLiteral, pgText } from './pg-arrays.js';
import {
  CLAIM_RESOURCE_SQL, FORGET_RESOURCE_SQL, INSERT_EVENTS_SQL, METERED_RESOURCE_SQL, PRUNE_COUNTERS_SQL, PRUNE_UPLOADS_SQL, rollupColumns, TOUCH_KEYS_SQL, UPSERT_TOTALS_SQL,
} from './pg-statements.js';
import { createUploadSessionPrune } from './upload-sessions.js';

/** A CounterCell's length (quota/persist.ts). */
const COUNTER_WIDTH = 7;

export interface PgSinkOptions {
  /** The gateway's pool (db/postgres.ts): its statement and connect timeouts bound one attempt. The sink never ends it. */
  pool: pg.Pool;
  /** The connection string, only to scrub its password from error messages. */
  url?: string;
  /**
   * How long one statement may go unanswered before the attempt is abandoned (default 10 s). The
   * pool's statement_timeout is enforced by the server, so it cannot end a wait on a network that
   * has stopped delivering; without this a stalled connection would hold the ledger's batch forever.
   * Set it above PG_STATEMENT_TIMEOUT_MS, so a slow server answers with its own error first.
   */
  timeoutMs?: number;
}

type Query = (text: string, values?: unknown[], name?: string) => Promise<pg.QueryResult>;

/** Rows as one array literal per column: what the `unnest` statements take. */
function byColumn(records: readonly (readonly unknown[])[], width: number): string[] {
  const out = new Array<string>(width);
  const col = new Array<unknown>(records.length);
  for (let c = 0; c < width; c++) {
    for (let r = 0; r < records.length; r++) col[r] = records[r]![c];
    out[c] = pgArrayLiteral(col);
  }
  return out;
}

/**
 * Rows with a row_key already seen earlier in the same batch are dropped: one INSERT … ON CONFLICT
 * DO NOTHING would store such a key once but return it once, and the rollups must match that.
 */
function firstPerKey(rows: readonly UsageRow[]): UsageRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => r.rowKey === undefined || (!seen.has(r.rowKey) && (seen.add(r.rowKey), true)));
}

/**
 * The ledger's Postgres sink: one transaction per batch on a pooled connection. The rows go in as
 * one multi-row INSERT that skips row keys already stored; only the rows it returns feed the quota
 * counters and rollups (grouped in memory by the same functions as the SQLite writer, then upserted
 * with additive columns), so a batch sent again after a lost COMMIT reply adds nothing. Rollup and
 * counter rows are upserted in key order, so two gateways writing at once lock them in the same order.
 */
export function createPgSink({ pool, url, timeoutMs = 10_000 }: PgSinkOptions): LedgerSink {
  const prunes = createPruneSchedule();
  const uploadsDue = createUploadSessionPrune();

  async function apply(query: Query, batch: LedgerBatch): Promise<number> {
    const rows = firstPerKey(batch.rows);
    const fresh: UsageRow[] = [];
    if (rows.length > 0) {
      const values = byColumn(rows.map(encodeUsageRow), USAGE_EVENT_COLUMNS.length);
      const res = await query(INSERT_EVENTS_SQL, values, 'ledger_insert_events');
      const inserted = new Set((res.rows as Array<{ row_key: string | null }>).map((r) => r.row_key));
      for (const r of rows) if (r.rowKey === undefined || inserted.has(r.rowKey)) fresh.push(r);
    }
    if (batch.keyTouches.length > 0) {
      const latest = new Map<string, number>();
      for (const [id, at] of batch.keyTouches) latest.set(id, Math.max(at, latest.get(id) ?? at));
      const ids = [...latest.keys()].sort();
      await query(TOUCH_KEYS_SQL, [pgArrayLiteral(ids), pgArrayLiteral(ids.map((id) => latest.get(id)))], 'ledger_touch_keys');
    }
    // In order: a claim then a forget of the same name must leave nothing. Each op is idempotent, so a replay is harmless.
    for (const op of batch.resourceOps) {
      if (op.kind === 'claim') {
        await query(CLAIM_RESOURCE_SQL, [pgText(op.name), op.resourceKind, op.tenantId, op.projectId, op.upstreamKeyId, op.units, op.at, op.keyId ?? null], 'ledger_claim');
      } else if (op.kind === 'forget') await query(FORGET_RESOURCE_SQL, [pgText(op.name)], 'ledger_forget');
      else await query(METERED_RESOURCE_SQL, [op.at, batch.now, pgText(op.name)], 'ledger_metered');
    }
    const cutoff = uploadsDue(batch.now);
    if (cutoff !== null) await query(PRUNE_UPLOADS_SQL, [cutoff], 'ledger_prune_uploads');
    if (fresh.length === 0) return 0;
    const cells = counterCells(fresh).sort((a, b) => compareKeys(a, b, 5)); // the cell's key: its first five fields
    const perGrain: Record<Grain, unknown[][]> = { h: [], d: [], m: [] };
    const accs = [...accumulate(fresh).values()].sort((a, b) => compareKeys(a.keys, b.keys));
    for (const a of accs) perGrain[a.grain].push([...a.keys, ...a.sums, ...a.maxes]);
    const values = [...byColumn(cells, COUNTER_WIDTH), ...GRAINS.flatMap((g) => byColumn(perGrain[g], rollupColumns(g).length))];
    await query(UPSERT_TOTALS_SQL, values, 'ledger_totals');
    // After the upsert, as on SQLite: a late row's cell in an ended window is added, then pruned with it.
    const due = prunes(fresh);
    if (due.length > 0) await query(PRUNE_COUNTERS_SQL, byColumn(due, 2), 'ledger_prune');
    return fresh.length;
  }

  /**
   * The driver's message with the password scrubbed: it goes to the log as the ledger's failure
   * reason. SQLSTATE classes 22 (data exception), 23 (integrity constraint) and 54 (program limit,
   * such as a key too long for its index) are about the rows, not the connection: RefusedAsData.
   */
  const scrubbed = (err: unknown): Error => {
    const e = err as { message?: string; code?: string };
    const text = e.message || e.code || String(err);
    const message = url ? scrubDbText(text, url) : text;
    return /^(22|23|54)[0-9A-Z]{3}$/.test(e.code ?? '') ? new RefusedAsData(`${message} (SQLSTATE ${e.code})`) : new Error(message);
  };

  return {
    async write(batch) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw scrubbed(err);
      }
      // A checked-out client is outside the pool's idle error handler: a connection reset between two
      // statements would otherwise be an unhandled 'error' event, which ends the process. A client
      // given back broken keeps this listener for whatever its dying socket still reports.
      const lost = (): void => {};
      client.on('error', lost);
      const query: Query = (text, values, name) => client.query({ text, values, name, query_timeout: timeoutMs } as pg.QueryConfig);
      try {
        await query('BEGIN');
        const n = await apply(query, batch);
        await query('COMMIT');
        client.off('error', lost);
        client.release();
        return n;
      } catch (err) {
        // No ROLLBACK: it could wait on the same dead connection. Closing the connection ends the
        // transaction on the server, and the pool opens a fresh one for the retry.
        client.release(err as Error);
        throw scrubbed(err);
      }
    },
    // The pool belongs to whoever opened it (the gateway closes it after the ledger's last flush).
    close: async () => {},
  };
}

/** Orders key tuples (strings and numbers) the same way in every gateway, so upserts take row locks in one order. */
function compareKeys(a: readonly unknown[], b: readonly unknown[], length = a.length): number {
  for (let i = 0; i < length; i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
