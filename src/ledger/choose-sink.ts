import type pg from 'pg';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { dialectOf } from '../db/dialect.js';
import type { Logger } from '../logger.js';
import type { LedgerSink } from './batch.js';
import { createInlineSink } from './inline-sink.js';
import { createPgSink } from './pg-sink.js';
import { createSqliteSink } from './sqlite-sink.js';

/**
 * The ledger's sink for the database the gateway runs on. SQLite: a worker thread with its own
 * connection, or this thread's connection for an in-memory database (a worker cannot open one).
 * Postgres: the pool-backed sink (one transaction per batch on a pooled connection).
 */
export function createLedgerSink(db: Db, { log, config }: { log: Logger; config: Config }): LedgerSink {
  if (dialectOf(db) === 'postgres') return createPgSink({ pool: db.$client as unknown as pg.Pool, url: config.DATABASE_URL });
  return db.$client.memory
    ? createInlineSink(db.$client)
    : createSqliteSink({ path: db.$client.name, log, busyTimeoutMs: config.USAGE_WRITER_BUSY_TIMEOUT_MS });
}
