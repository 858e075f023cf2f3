import type { Config } from '../config.js';
import { openDb, type Db } from './client.js';
import { useChangeFeed } from './data-version.js';
import { dialectOf, type Dialect } from './dialect.js';
import { listenForChanges, type ChangeFeed } from './pg-changes.js';
import { bootPostgres } from './postgres-boot.js';
import { DatabaseUnavailableError } from './postgres.js';

/**
 * The database a process runs on, whichever the dialect: one drizzle handle (`db`, the Postgres one
 * cast to the SQLite type, see dialect.ts), and on Postgres the LISTEN feed that stands in for
 * SQLite's data_version. Services take `db`; only the composition roots (gateway, CLI) hold a Store.
 */
export interface Store {
  dialect: Dialect;
  db: Db;
  /** Postgres only. */
  changes: ChangeFeed | null;
  close(): Promise<void>;
}

/** Wraps an open SQLite handle (tests pass their own). */
export function sqliteStore(db: Db): Store {
  return { dialect: 'sqlite', db, changes: null, close: async () => void db.$client.close() };
}

export interface OpenStoreOptions {
  /** Postgres: listen for changes (a serving gateway); the CLI does not need to. */
  listen?: boolean;
  onError?: (message: string) => void;
  busyTimeoutMs?: number;
}

/**
 * A file that cannot be opened (a directory, not a database, no permission) is one line naming
 * DATABASE_PATH, the one thing an operator can change; better-sqlite3 alone says "unable to open database file".
 */
function openSqlite(config: Config, opts: OpenStoreOptions): Db {
  try {
    return openDb(config.DATABASE_PATH, { busyTimeoutMs: opts.busyTimeoutMs ?? config.DATABASE_BUSY_TIMEOUT_MS });
  } catch (err) {
    throw new DatabaseUnavailableError(`cannot open the SQLite database DATABASE_PATH=${config.DATABASE_PATH}: ${(err as Error).message}`);
  }
}

/** DATABASE_URL selects Postgres (migrated under the advisory lock), otherwise SQLite at DATABASE_PATH. */
export async function openStore(config: Config, opts: OpenStoreOptions = {}): Promise<Store> {
  if (!config.DATABASE_URL) return sqliteStore(openSqlite(config, opts));
  const pgDb = await bootPostgres(config as Config & { DATABASE_URL: string }, opts.onError);
  const db = pgDb as unknown as Db;
  let changes: ChangeFeed | null = null;
  if (opts.listen) {
    try {
      changes = await listenForChanges({ url: config.DATABASE_URL, connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS, onError: opts.onError });
    } catch (err) {
      await pgDb.$client.end().catch(() => {});
      throw err;
    }
    useChangeFeed(db, changes);
  }
  let closing: Promise<void> | null = null;
  return {
    dialect: dialectOf(db),
    db,
    changes,
    // Idempotent: a gateway shut down twice (a test, a second signal) ends its pool once.
    close() {
      closing ??= (async () => {
        await changes?.close();
        await pgDb.$client.end();
      })();
      return closing;
    },
  };
}
