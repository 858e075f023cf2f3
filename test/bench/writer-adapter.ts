// Binds the writer benchmark (writer.ts) to the gateway's usage ledger. This is the only bench
// file that imports src/ for it, so when the ledger's API changes, this is the file to update.
import { openDb } from '../../src/db/client.js';
import { openPostgres } from '../../src/db/postgres.js';
import { createLedger, type Ledger } from '../../src/ledger/ledger.js';
import { createPgSink } from '../../src/ledger/pg-sink.js';
import { createSqliteSink } from '../../src/ledger/sqlite-sink.js';
import { createLogger } from '../../src/logger.js';
import type { UsageRow } from '../../src/metering/row.js';
import { createTestDatabase } from '../support/postgres-server.js';

export type WriterBackend = 'sqlite' | 'postgres';

export interface WriterUnderTest {
  /** Queues row number `i` (the adapter builds a realistic row). */
  record(i: number): void;
  /** Writes everything queued now; resolves with rows written. */
  flush(): Promise<number> | number;
  pending(): number;
  close(): Promise<void> | void;
  /** Rows actually in usage_events. */
  countRows(): Promise<number> | number;
}

export interface WriterConfig {
  flushIntervalMs: number;
  batchSize: number;
}

const USAGE_JSON = JSON.stringify({
  promptTokenCount: 12,
  candidatesTokenCount: 320,
  totalTokenCount: 332,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 12 }],
});

function row(i: number, now: number): UsageRow {
  return {
    createdAt: now,
    requestId: `bench-${now.toString(36)}-${i.toString(36).padStart(6, '0')}`,
    tenantId: 'ten_bench00000000000000',
    projectId: 'prj_bench00000000000000',
    keyId: `key_bench${(i % 16).toString(16)}00000000000000`,
    upstreamKeyId: null,
    method: 'POST',
    apiVersion: 'v1beta',
    endpoint: i % 4 === 0 ? 'streamGenerateContent' : 'generateContent',
    model: 'gemini-2.0-flash',
    stream: i % 4 === 0 ? 1 : 0,
    status: 200,
    outcome: 'ok',
    usage: {
      promptTokens: 12,
      cachedTokens: 0,
      outputTokens: 320,
      thoughtsTokens: 0,
      toolUsePromptTokens: 0,
      totalTokens: 332,
      json: USAGE_JSON,
    },
    ttfbMs: 180 + (i % 50),
    latencyMs: 1200 + (i % 700),
    bytesIn: 210,
    bytesOut: 18_432,
  };
}

/** SQLite: the file at `dbPath`. Postgres: a fresh database on TEST_DATABASE_URL, dropped on close. */
export async function createWriterUnderTest(backend: WriterBackend, dbPath: string, cfg: WriterConfig): Promise<WriterUnderTest> {
  return backend === 'postgres' ? createPgWriter(cfg) : createSqliteWriter(dbPath, cfg);
}

function createSqliteWriter(dbPath: string, cfg: WriterConfig): WriterUnderTest {
  const db = openDb(dbPath, { busyTimeoutMs: 0 }); // as the server opens it
  const log = createLogger('silent');
  // As the gateway builds it: rows posted to the SQLite worker thread.
  const recorder = createLedger({
    sink: createSqliteSink({ path: dbPath, log }),
    log,
    flushIntervalMs: cfg.flushIntervalMs,
    batchSize: cfg.batchSize,
  });
  const count = db.$client.prepare('SELECT count(*) AS n FROM usage_events');
  return overLedger(recorder, () => (count.get() as { n: number }).n, async () => void db.$client.close());
}

/** Both backends drive the ledger the same way; only counting rows and closing the database differ. */
function overLedger(recorder: Ledger, countRows: WriterUnderTest['countRows'], closeDb: () => Promise<void>): WriterUnderTest {
  return {
    record: (i) => recorder.record(row(i, Date.now())),
    flush: () => recorder.flush(),
    pending: () => recorder.pending(),
    close: async () => {
      await recorder.close();
      await closeDb();
    },
    countRows,
  };
}

/** As a Postgres gateway would build it: the ledger's batches go to the pool from the event loop. */
async function createPgWriter(cfg: WriterConfig): Promise<WriterUnderTest> {
  const db = await createTestDatabase();
  const pg = await openPostgres({ url: db.url, poolMax: 10, statementTimeoutMs: 5000, connectTimeoutMs: 5000 });
  const log = createLogger('silent');
  const recorder = createLedger({ sink: createPgSink({ pool: pg.$client, url: db.url }), log, flushIntervalMs: cfg.flushIntervalMs, batchSize: cfg.batchSize });
  return overLedger(
    recorder,
    async () => (await pg.$client.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_events')).rows[0]!.n,
    async () => {
      await pg.$client.end();
      await db.drop();
    },
  );
}
