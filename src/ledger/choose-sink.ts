import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { dialectOf } from '../db/dialect.js';
import type { Logger } from '../logger.js';
import type { LedgerSink } from './batch.js';
import { createInlineSink } from './inline-sink.js';
import { createSqliteSink } from './sqlite-sink.js';

/**
 * The ledger's sink for the database the gateway runs on. SQLite: a worker thread with its own
 * connection, or this thread's connection for an in-memory database (a worker cannot open one).
 * Postgres: the pool-backed sink (ledger/pg-sink.ts), wired here when it lands.
 */
export function createLedgerSink(db: Db, { log, config }: { log: Logger; config: Config }): LedgerSink {
  if (dialectOf(db) === 'postgres') {
    throw new Error('the Postgres ledger sink is not built in yet; unset DATABASE_URL to serve from SQLite');
  }
  return db.$client.memory
    ? createInlineSink(db.$client)
    : createSqliteSink({ path: db.$client.name, log, busyTimeoutMs: config.USAGE_WRITER_BUSY_TIMEOUT_MS });
}
