import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openDb } from '../../src/db/client.js';

/**
 * The SQLite migrations moved from migrations/ to migrations/sqlite/ unchanged. Databases created
 * before the move recorded their migrations from the old folder; these tests rebuild that old layout
 * (the same files under migrations/), migrate a database with it, and open it with today's code.
 */
const journalOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> };
const current = journalOf(MIGRATIONS_DIR);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A checkout as it was before the move, holding only the first `count` migrations, and a database migrated by it. */
function databaseFromOldLayout(count: number): string {
  const root = mkdtempSync(path.join(tmpdir(), 'gw-old-layout-'));
  dirs.push(root);
  const old = path.join(root, 'migrations');
  cpSync(MIGRATIONS_DIR, old, { recursive: true });
  const journal = journalOf(old);
  journal.entries = journal.entries.slice(0, count);
  writeFileSync(path.join(old, 'meta/_journal.json'), JSON.stringify(journal));
  const file = path.join(root, 'gateway.db');
  const sqlite = new Database(file);
  migrate(drizzle(sqlite), { migrationsFolder: old });
  sqlite.close();
  return file;
}

function applied(file: string): Array<{ hash: string; created_at: number }> {
  const sqlite = new Database(file, { readonly: true });
  try {
    return sqlite.prepare('SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at').all() as Array<{ hash: string; created_at: number }>;
  } finally {
    sqlite.close();
  }
}

describe('SQLite databases migrated before migrations/ became migrations/sqlite/', () => {
  it('open cleanly and are not migrated a second time', () => {
    const file = databaseFromOldLayout(current.entries.length);
    const before = applied(file);
    expect(before).toHaveLength(current.entries.length);
    openDb(file).$client.close();
    expect(applied(file)).toEqual(before);
  });

  it('get the migrations added since, once each, in order', () => {
    expect(current.entries.length).toBeGreaterThan(1);
    const file = databaseFromOldLayout(1);
    expect(applied(file)).toHaveLength(1);
    const db = openDb(file);
    const tables = db.$client.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    db.$client.close();
    expect(applied(file).map((m) => m.created_at)).toEqual(current.entries.map((e) => e.when));
    expect(tables).toEqual(expect.arrayContaining(['tenants', 'api_keys', 'usage_events', 'quota_counters', 'usage_rollups_hourly']));
  });
});
