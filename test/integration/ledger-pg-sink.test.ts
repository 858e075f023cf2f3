import fc from 'fast-check';
import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/db/client.js';
import { openPostgres, type PgDb } from '../../src/db/postgres.js';
import type { LedgerBatch, LedgerSink } from '../../src/ledger/batch.js';
import { createInlineSink } from '../../src/ledger/inline-sink.js';
import { pgArrayLiteral } from '../../src/ledger/pg-arrays.js';
import { createPgSink } from '../../src/ledger/pg-sink.js';
import { accountInserts, variedBatches } from '../support/ledger-batches.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';

type Rec = Record<string, unknown>;

/** Every table the ledger writes, with the columns that identify a row (for a collation-free order). */
const TABLES: Record<string, string[]> = {
  usage_events: ['row_key'],
  usage_rollups_hourly: ['bucket_start', 'project_id', 'key_id', 'model', 'endpoint', 'outcome'],
  usage_rollups_daily: ['bucket_start', 'project_id', 'key_id', 'model', 'endpoint'],
  usage_rollups_monthly: ['bucket_start', 'project_id', 'model', 'endpoint'],
  quota_counters: ['project_id', 'dimension', 'value', 'window_kind', 'window_start'],
  api_keys: ['id'],
  resources: ['name'],
};

/** Rows without the identity column, ordered in JS (SQLite sorts bytes, Postgres by its collation). */
function normalise(table: string, rows: Rec[]): Rec[] {
  const keys = TABLES[table]!;
  const id = (r: Rec) => JSON.stringify(keys.map((k) => r[k]));
  return rows
    .map((r) => {
      const { id: _id, ...rest } = r;
      return table === 'usage_events' ? rest : r;
    })
    .sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}

describe.runIf(postgresAvailable)('ledger Postgres sink', () => {
  let pgDb: TestDatabase;
  let pgConn: PgDb;
  let dir: string;
  let sqlite: Db;
  let pgSink: LedgerSink;
  let sqliteSink: LedgerSink;

  beforeEach(async () => {
    pgDb = await createTestDatabase();
    pgConn = await openPostgres({ url: pgDb.url, poolMax: 2, statementTimeoutMs: 10_000, connectTimeoutMs: 5000 });
    dir = mkdtempSync(join(tmpdir(), 'ggw-pgsink-'));
    sqlite = openDb(join(dir, 'g.db'));
    for (const q of accountInserts()) {
      await pgConn.$client.query(q);
      sqlite.$client.exec(q);
    }
    pgSink = createPgSink({ pool: pgConn.$client, url: pgDb.url });
    sqliteSink = createInlineSink(sqlite.$client);
  });
  afterEach(async () => {
    await pgConn?.$client.end();
    sqlite?.$client.close();
    rmSync(dir, { recursive: true, force: true });
    await pgDb?.drop();
  });

  async function pgTable(table: string): Promise<Rec[]> {
    return normalise(table, (await pgConn.$client.query(`SELECT * FROM ${table}`)).rows as Rec[]);
  }
  const sqliteTable = (table: string): Rec[] => normalise(table, sqlite.$client.prepare(`SELECT * FROM ${table}`).all() as Rec[]);

  async function expectSameTables(): Promise<void> {
    for (const table of Object.keys(TABLES)) {
      const [a, b] = [await pgTable(table), sqliteTable(table)];
      expect(a.length, table).toBe(b.length);
      expect(a, table).toEqual(b);
    }
  }

  /** Both sinks, same batches, same answers. */
  async function writeBoth(batch: LedgerBatch): Promise<number> {
    const [p, s] = [await pgSink.write(batch), await sqliteSink.write(batch)];
    expect(p).toBe(s);
    return p;
  }

  it('stores the same rows, rollups, counters, key times and resources as the SQLite sink', async () => {
    const batches = variedBatches(12, 1500);
    let written = 0;
    for (const b of batches) written += await writeBoth(b);
    expect(written).toBe(1500);
    expect((await pgTable('usage_events')).length).toBe(1500);
    expect((await pgTable('usage_rollups_hourly')).length).toBeGreaterThan(50);
    expect((await pgTable('quota_counters')).length).toBeGreaterThan(20);
    expect((await pgTable('resources')).length).toBeGreaterThan(0);
    await expectSameTables();
  });

  it('counts a batch written twice once, and only the new rows of an overlapping batch', async () => {
    const [a, b] = variedBatches(7, 200);
    expect(await writeBoth(a!)).toBe(a!.rows.length);
    expect(await writeBoth(a!)).toBe(0);
    const overlap: LedgerBatch = { ...b!, rows: [...a!.rows.slice(0, 5), ...b!.rows, b!.rows[0]!] };
    expect(await writeBoth(overlap)).toBe(b!.rows.length);
    const sum = async (t: string) => (await pgTable(t)).reduce((s, r) => s + (r.requests as number), 0);
    expect(await sum('usage_rollups_hourly')).toBe(a!.rows.length + b!.rows.length);
    expect(await sum('usage_rollups_monthly')).toBe(a!.rows.length + b!.rows.length);
    await expectSameTables();
  });

  it('gives the same rollups when two gateways write interleaved batches at once', async () => {
    const batches = variedBatches(21, 1200);
    for (const b of batches) await sqliteSink.write(b);
    const other = await openPostgres({ url: pgDb.url, poolMax: 2, statementTimeoutMs: 10_000, connectTimeoutMs: 5000 });
    const second = createPgSink({ pool: other.$client, url: pgDb.url });
    // Odd batches through one sink, even through the other, concurrently, upserting the same rollup rows.
    const through = (sink: LedgerSink, parity: number) => (async () => {
      for (let i = parity; i < batches.length; i += 2) await sink.write(batches[i]!);
    })();
    await Promise.all([through(pgSink, 0), through(second, 1)]).finally(() => other.$client.end());
    for (const table of ['usage_events', 'usage_rollups_hourly', 'usage_rollups_daily', 'usage_rollups_monthly']) expect(await pgTable(table), table).toEqual(sqliteTable(table));
  });

  it('commits nothing of a batch whose last statement fails, and writes it whole on the retry', async () => {
    const [first, second] = variedBatches(3, 150);
    await writeBoth(first!);
    const before = await Promise.all(Object.keys(TABLES).map(pgTable));
    // The monthly rollup is the last part of the last upsert: rows, touches and ops already ran, counters in the same statement.
    await pgConn.$client.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'monthly rollup refused'; END $$;
      CREATE TRIGGER refuse BEFORE INSERT ON usage_rollups_monthly FOR EACH ROW EXECUTE FUNCTION refuse()`);
    await expect(pgSink.write(second!)).rejects.toThrow('monthly rollup refused');
    expect(await Promise.all(Object.keys(TABLES).map(pgTable))).toEqual(before);
    await pgConn.$client.query('DROP TRIGGER refuse ON usage_rollups_monthly');
    expect(await writeBoth(second!)).toBe(second!.rows.length);
    await expectSameTables();
  });

  it('rejects with the driver\'s reason, the password scrubbed from it', async () => {
    // The server names the missing database in its error; here that name is the password itself.
    const u = new URL(pgDb.url);
    u.password = 'hunter2secret';
    u.pathname = '/hunter2secret';
    const dead = new pg.Pool({ connectionString: u.toString(), connectionTimeoutMillis: 2000 });
    const sink = createPgSink({ pool: dead, url: u.toString() });
    const err = await sink.write(variedBatches(1, 3)[0]!).catch((e: Error) => e);
    await dead.end();
    expect((err as Error).message).toBe('database "***" does not exist');
  });

  it('sends any text and any safe integer through an array literal unchanged (NUL, which Postgres text cannot hold, as U+FFFD)', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(text), { maxLength: 20 }), fc.array(fc.option(fc.maxSafeInteger()), { maxLength: 20 }), async (strings, numbers) => {
        const q = (type: string, values: unknown[]) =>
          pgConn.$client.query(`SELECT v FROM unnest($1::${type}[]) WITH ORDINALITY AS t(v, i) ORDER BY i`, [pgArrayLiteral(values)]);
        expect((await q('text', strings)).rows.map((r) => r.v)).toEqual(strings.map((x) => x?.replaceAll('\u0000', '\uFFFD') ?? null));
        expect((await q('bigint', numbers)).rows.map((r) => r.v)).toEqual(numbers);
      }),
      { numRuns: 200, examples: [[['a\u0000b', '"\\', '', 'NULL', null, '{x,y}'], [0, -1, Number.MAX_SAFE_INTEGER, null]]] },
    );
  });
});
