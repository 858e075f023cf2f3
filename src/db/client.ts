import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema/index.js';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/**
 * migrations/ sits at the repo root both for src/ (tests, tsx) and dist/ (compiled); one folder per dialect.
 * Moving the SQLite set from migrations/ to migrations/sqlite/ is safe: drizzle's migrator identifies an applied
 * migration by its journal timestamp, not by its path.
 */
export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../migrations/sqlite');

interface OpenDbOptions {
  /**
   * How long a statement may wait for another process's lock. The server uses 0 so a lock held
   * elsewhere never blocks the event loop (the usage writer retries on a timer instead); the CLI
   * can afford to wait.
   */
  busyTimeoutMs?: number;
}

/** Opens (creating the folder if needed) and migrates the database. ':memory:' works for tests. */
export function openDb(path: string, opts: OpenDbOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode is durable against application crashes, losing at most the last commits on power loss.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  return db as Db;
}
