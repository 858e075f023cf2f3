// The ledger's two sinks on real databases, side by side, for tests that hold both to the same
// behaviour: a SQLite file behind the worker-thread sink, and a fresh Postgres database behind the
// pool sink (when Postgres is available). Each comes migrated, with the test accounts in place.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/db/client.js';
import { migratePostgres, openPostgres } from '../../src/db/postgres.js';
import type { LedgerSink } from '../../src/ledger/batch.js';
import { createPgSink } from '../../src/ledger/pg-sink.js';
import { createSqliteSink } from '../../src/ledger/sqlite-sink.js';
import { createLogger } from '../../src/logger.js';
import { accountInserts } from './ledger-batches.js';
import { createTestDatabase, postgresAvailable } from './postgres.js';

export interface OpenedBackend {
  sink: LedgerSink;
  /** Raw SQL on the backend's own connection (`?` placeholders on both). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export interface LedgerBackend {
  name: 'SQLite (worker sink)' | 'Postgres';
  available: boolean;
  open(): Promise<OpenedBackend>;
}

export const LEDGER_BACKENDS: LedgerBackend[] = [
  {
    name: 'SQLite (worker sink)',
    available: true,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'ggw-ledger-backend-'));
      const db = openDb(join(dir, 'g.db'), { busyTimeoutMs: 0 });
      for (const q of accountInserts()) db.$client.exec(q);
      return {
        sink: createSqliteSink({ path: db.$client.name, log: createLogger('silent') }),
        query: async (sql, params = []) => db.$client.prepare(sql).all(...params) as never,
        async close() {
          db.$client.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'Postgres',
    available: postgresAvailable,
    async open() {
      const test = await createTestDatabase();
      await migratePostgres({ url: test.url, connectTimeoutMs: 5000 });
      const db = await openPostgres({ url: test.url, poolMax: 2, statementTimeoutMs: 5000, connectTimeoutMs: 5000, onError: () => {} });
      for (const q of accountInserts()) await db.$client.query(q);
      return {
        sink: createPgSink({ pool: db.$client, url: test.url }),
        query: async (sql, params = []) => {
          let i = 0;
          return (await db.$client.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows as never;
        },
        async close() {
          await db.$client.end();
          await test.drop();
        },
      };
    },
  },
];
