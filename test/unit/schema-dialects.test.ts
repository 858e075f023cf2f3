import { getTableName, is, type SQL } from 'drizzle-orm';
import { PgDialect, PgTable, getTableConfig as pgConfig } from 'drizzle-orm/pg-core';
import { SQLiteSyncDialect, SQLiteTable, getTableConfig as sqliteConfig } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as pg from '../../src/db/schema-pg/index.js';
import * as sqlite from '../../src/db/schema/index.js';

/**
 * The two schemas are written by hand, one per dialect; this is what keeps them in step. Every
 * table, column, type (mapped), nullability, default, primary key, foreign key and index of the
 * SQLite schema must have its twin in the Postgres one and the other way round.
 */

const sqliteTables = (Object.values(sqlite) as unknown[]).filter((v): v is SQLiteTable => is(v, SQLiteTable));
const pgTables = (Object.values(pg) as unknown[]).filter((v): v is PgTable => is(v, PgTable));
const sqliteDialect = new SQLiteSyncDialect();
const pgDialect = new PgDialect();

/** Columns holding epoch milliseconds or money: int8 in Postgres, never int4. */
const MUST_BE_BIGINT = /(_at|^bucket_start|^window_start|^cost_nano_usd)$/;

/** SQLite's INTEGER is 64-bit; in Postgres it maps to int4 or int8 (chosen per column), TEXT to text. */
function sameType(sqliteType: string, pgType: string): boolean {
  if (sqliteType === 'integer') return pgType === 'integer' || pgType === 'bigint';
  return sqliteType === pgType;
}

function shape(kind: 'sqlite' | 'pg', table: SQLiteTable | PgTable) {
  const cfg = kind === 'sqlite' ? sqliteConfig(table as SQLiteTable) : pgConfig(table as PgTable);
  const render = (w: SQL | undefined) => (w ? (kind === 'sqlite' ? sqliteDialect : pgDialect).sqlToQuery(w).sql : null);
  const pkCols = cfg.columns.filter((c) => c.primary).map((c) => c.name);
  return {
    columns: Object.fromEntries(
      cfg.columns.map((c) => [
        c.name,
        { notNull: c.notNull, hasDefault: c.hasDefault && c.default !== undefined, default: c.default ?? null, primary: c.primary },
      ]),
    ),
    types: Object.fromEntries(cfg.columns.map((c) => [c.name, c.getSQLType()])),
    primaryKey: cfg.primaryKeys.length ? cfg.primaryKeys.map((pk) => pk.columns.map((c) => c.name)) : [pkCols],
    foreignKeys: cfg.foreignKeys
      .map((fk) => {
        const ref = fk.reference();
        return `${ref.columns.map((c) => c.name).join(',')} -> ${getTableName(ref.foreignTable)}(${ref.foreignColumns.map((c) => c.name).join(',')})`;
      })
      .sort(),
    indexes: cfg.indexes
      .map((i) => ({
        name: i.config.name ?? '',
        unique: Boolean(i.config.unique),
        columns: i.config.columns.map((c) => (c as { name: string }).name),
        where: render(i.config.where),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

describe('the SQLite and Postgres schemas', () => {
  it('have the same tables', () => {
    expect(pgTables.map((t) => getTableName(t)).sort()).toEqual(sqliteTables.map((t) => getTableName(t)).sort());
    expect(sqliteTables.length).toBeGreaterThan(5);
  });

  for (const table of sqliteTables) {
    const name = getTableName(table);
    const twin = pgTables.find((t) => getTableName(t) === name);

    it(`${name}: same columns, nullability, defaults, keys and indexes`, () => {
      expect(twin, `no Postgres table ${name}`).toBeDefined();
      const a = shape('sqlite', table);
      const b = shape('pg', twin!);
      expect(b.columns).toEqual(a.columns);
      expect(b.primaryKey).toEqual(a.primaryKey);
      expect(b.foreignKeys).toEqual(a.foreignKeys);
      expect(b.indexes).toEqual(a.indexes);
    });

    it(`${name}: column types map between dialects`, () => {
      const a = shape('sqlite', table).types;
      const b = shape('pg', twin!).types;
      for (const [col, t] of Object.entries(a)) {
        expect(sameType(t, b[col]!), `${name}.${col}: sqlite ${t} vs pg ${b[col]}`).toBe(true);
        if (MUST_BE_BIGINT.test(col)) expect(b[col], `${name}.${col} holds ms or money`).toBe('bigint');
      }
    });
  }
});
