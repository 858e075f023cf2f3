import { AsyncLocalStorage } from 'node:async_hooks';
import { is, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { PgDatabase } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { Db } from './client.js';
import * as schema from './schema/index.js';
import * as pgSchema from './schema-pg/index.js';

/**
 * The few places where SQLite and Postgres differ, behind one handle type. Services hold a `Db`: the
 * SQLite drizzle database, or the Postgres one (or a Postgres transaction) cast to it, which is sound
 * because both schemas produce the same row types (test/unit/schema-dialects.test.ts). The tables a
 * service queries come from the handle itself (`tablesOf`), so a handle and its tables always agree.
 */
export type Dialect = 'sqlite' | 'postgres';

export function dialectOf(db: Db): Dialect {
  return is(db as unknown, PgDatabase) ? 'postgres' : 'sqlite';
}

/**
 * The table objects of the handle's own dialect. The Postgres tables are typed as the SQLite ones:
 * sound because both produce the same row types (test/unit/schema-dialects.test.ts).
 */
export function tablesOf(db: Db): typeof schema {
  return dialectOf(db) === 'postgres' ? (pgSchema as unknown as typeof schema) : schema;
}

/** int8 and numeric (sum() over int8) as JS numbers: every value we store is an integer below 2^53. */
const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** The connection behind a handle: the pool, or the transaction's checked-out client. */
function pgClient(db: Db): pg.Pool | pg.PoolClient {
  return (db as unknown as { session: { client: pg.Pool | pg.PoolClient } }).session.client;
}

const statements = new WeakMap<object, Map<string, import('better-sqlite3').Statement>>();

/** `?` placeholders to `$1…` (our raw SQL never has a `?` inside a literal). */
export function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

/**
 * Raw SQL with `?` placeholders, for the statements that are generated text (usage aggregates, key
 * lookups): prepared once per text on SQLite, sent with `$n` placeholders on Postgres.
 */
export async function query<R = Record<string, unknown>>(db: Db, text: string, params: unknown[] = []): Promise<R[]> {
  if (dialectOf(db) === 'postgres') {
    const res = await pgClient(db).query({ text: numbered(text), values: params, types: PG_TYPES });
    return res.rows as R[];
  }
  return prepared(db, text).all(...params) as R[];
}

/** Raw statement without rows; resolves with the number of rows changed. */
export async function execute(db: Db, text: string, params: unknown[] = []): Promise<number> {
  if (dialectOf(db) === 'postgres') return (await pgClient(db).query({ text: numbered(text), values: params })).rowCount ?? 0;
  return prepared(db, text).run(...params).changes;
}

function prepared(db: Db, text: string) {
  let cache = statements.get(db.$client);
  if (!cache) statements.set(db.$client, (cache = new Map()));
  let st = cache.get(text);
  if (!st) {
    if (cache.size >= 500) cache.clear();
    cache.set(text, (st = db.$client.prepare(text)));
  }
  return st;
}

/** `col IN (…)` for a JSON array bound as one `?` parameter (one statement text for any list length). */
export function inJsonList(db: Db, col: string): string {
  return dialectOf(db) === 'postgres' ? `${col} IN (SELECT jsonb_array_elements_text(?::jsonb))` : `${col} IN (SELECT value FROM json_each(?))`;
}

/** Whether a JSON-object text column has a key / has it with a value (label filters). */
export function labelPresent(db: Db, column: AnyColumn, key: string): SQL {
  return dialectOf(db) === 'postgres' ? sql`(${column})::jsonb ? ${key}` : sql`json_type(${column}, ${`$."${key}"`}) IS NOT NULL`;
}

export function labelEquals(db: Db, column: AnyColumn, key: string, value: string): SQL {
  return dialectOf(db) === 'postgres' ? sql`((${column})::jsonb ->> ${key}) = ${value}` : sql`json_extract(${column}, ${`$."${key}"`}) = ${value}`;
}

/** Scalar max of two values: max(a, b) on SQLite, GREATEST on Postgres. */
export function greatest(db: Db, a: string, b: string): string {
  return dialectOf(db) === 'postgres' ? `GREATEST(${a}, ${b})` : `max(${a}, ${b})`;
}

/** A unique-index violation on either backend (drizzle may wrap the driver error as `cause`). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined, i = 0; e && i < 3; e = e.cause as typeof e, i++) {
    if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === '23505') return true;
  }
  return false;
}

const sqliteTx = new AsyncLocalStorage<object>();
const sqliteLocks = new WeakMap<object, Promise<unknown>>();

/**
 * Runs fn in one transaction. Postgres: drizzle's transaction (nested calls become savepoints).
 * SQLite: one connection serves every request, so an async mutex per connection serialises
 * transactions and BEGIN IMMEDIATE takes the write lock up front; a nested call joins the outer one.
 */
export async function transaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  if (dialectOf(db) === 'postgres') {
    return (db as unknown as PgDatabase<never, never>).transaction((tx) => fn(tx as unknown as Db)) as Promise<T>;
  }
  const conn = db.$client;
  if (sqliteTx.getStore() === conn) return fn(db);
  const before = sqliteLocks.get(conn) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  sqliteLocks.set(conn, before.then(() => mine));
  await before;
  try {
    conn.prepare('BEGIN IMMEDIATE').run();
    try {
      const result = await sqliteTx.run(conn, () => fn(db));
      conn.prepare('COMMIT').run();
      return result;
    } catch (err) {
      if (conn.inTransaction) conn.prepare('ROLLBACK').run();
      throw err;
    }
  } finally {
    release();
  }
}
