import type pg from 'pg';
import { scrubDbText } from '../db/pg-url.js';
import { encodeUsageRow, USAGE_EVENT_COLUMNS } from '../metering/columns.js';
import type { UsageRow } from '../metering/row.js';
import { counterCells, createPruneSchedule } from '../quota/persist.js';
import { accumulate, GRAINS, type Grain } from '../usage/rollups.js';
import type { LedgerBatch, LedgerSink } from './batch.js';
import {
  CLAIM_RESOURCE_SQL, FORGET_RESOURCE_SQL, INSERT_EVENTS_SQL, METERED_RESOURCE_SQL, PRUNE_COUNTERS_SQL, TOUCH_KEYS_SQL, UPSERT_COUNTERS_SQL, UPSERT_ROLLUP_SQL,
} from './pg-statements.js';

export interface PgSinkOptions {
  /** The gateway's pool (db/postgres.ts): its statement and connect timeouts bound one attempt. The sink never ends it. */
  pool: pg.Pool;
  /** The connection string, only to scrub its password from error messages. */
  url?: string;
}

/** Rows as one array per column: what the `unnest` statements take. */
function byColumn(records: readonly (readonly unknown[])[], width: number): unknown[][] {
  const cols = Array.from({ length: width }, () => new Array<unknown>(records.length));
  records.forEach((rec, r) => {
    for (let c = 0; c < width; c++) cols[c]![r] = rec[c];
  });
  return cols;
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
export function createPgSink({ pool, url }: PgSinkOptions): LedgerSink {
  const prunes = createPruneSchedule();

  async function apply(client: pg.PoolClient, batch: LedgerBatch): Promise<number> {
    const rows = firstPerKey(batch.rows);
    const fresh: UsageRow[] = [];
    if (rows.length > 0) {
      const values = byColumn(rows.map(encodeUsageRow), USAGE_EVENT_COLUMNS.length);
      const res = await client.query<{ row_key: string | null }>({ name: 'ledger_insert_events', text: INSERT_EVENTS_SQL, values });
      const inserted = new Set(res.rows.map((r) => r.row_key));
      for (const r of rows) if (r.rowKey === undefined || inserted.has(r.rowKey)) fresh.push(r);
    }
    if (batch.keyTouches.length > 0) {
      const latest = new Map<string, number>();
      for (const [id, at] of batch.keyTouches) latest.set(id, Math.max(at, latest.get(id) ?? at));
      const ids = [...latest.keys()].sort();
      await client.query({ name: 'ledger_touch_keys', text: TOUCH_KEYS_SQL, values: [ids, ids.map((id) => latest.get(id))] });
    }
    // In order: a claim then a forget of the same name must leave nothing. Each op is idempotent, so a replay is harmless.
    for (const op of batch.resourceOps) {
      if (op.kind === 'claim') {
        await client.query({ name: 'ledger_claim', text: CLAIM_RESOURCE_SQL, values: [op.name, op.resourceKind, op.tenantId, op.projectId, op.upstreamKeyId, op.units, op.at] });
      } else if (op.kind === 'forget') await client.query({ name: 'ledger_forget', text: FORGET_RESOURCE_SQL, values: [op.name] });
      else await client.query({ name: 'ledger_metered', text: METERED_RESOURCE_SQL, values: [op.at, batch.now, op.name] });
    }
    if (fresh.length === 0) return 0;
    const cells = counterCells(fresh).sort((a, b) => compareKeys(a.slice(0, 5), b.slice(0, 5)));
    if (cells.length > 0) await client.query({ name: 'ledger_counters', text: UPSERT_COUNTERS_SQL, values: byColumn(cells, 7) });
    const due = prunes(fresh);
    if (due.length > 0) await client.query({ name: 'ledger_prune', text: PRUNE_COUNTERS_SQL, values: byColumn(due, 2) });
    const perGrain: Record<Grain, unknown[][]> = { h: [], d: [], m: [] };
    const accs = [...accumulate(fresh).values()].sort((a, b) => compareKeys(a.keys, b.keys));
    for (const a of accs) perGrain[a.grain].push([...a.keys, ...a.sums, ...a.maxes]);
    for (const g of GRAINS) {
      const recs = perGrain[g];
      if (recs.length > 0) await client.query({ name: `ledger_rollup_${g}`, text: UPSERT_ROLLUP_SQL[g], values: byColumn(recs, recs[0]!.length) });
    }
    return fresh.length;
  }

  /** The driver's message with the password scrubbed: it goes to the log as the ledger's failure reason. */
  const scrubbed = (err: unknown): Error => {
    const e = err as { message?: string; code?: string };
    const text = e.message || e.code || String(err);
    return new Error(url ? scrubDbText(text, url) : text);
  };

  return {
    async write(batch) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw scrubbed(err);
      }
      let broken: Error | undefined;
      // A checked-out client is outside the pool's idle error handler: a connection reset between two
      // statements would otherwise be an unhandled 'error' event, which ends the process.
      const lost = (err: Error): void => void (broken = err);
      client.on('error', lost);
      try {
        await client.query('BEGIN');
        const n = await apply(client, batch);
        await client.query('COMMIT');
        return n;
      } catch (err) {
        // A connection that failed mid-transaction is not given back to the pool for reuse.
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw scrubbed(err);
      } finally {
        client.off('error', lost);
        client.release(broken);
      }
    },
    // The pool belongs to whoever opened it (the gateway closes it after the ledger's last flush).
    close: async () => {},
  };
}

/** Orders key tuples (strings and numbers) the same way in every gateway, so upserts take row locks in one order. */
function compareKeys(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
