import type { Database } from 'better-sqlite3';
import { RefusedAsData, type LedgerSink } from './batch.js';
import { createSqliteApplier, refusedAsData } from './sqlite-apply.js';

/**
 * The same transaction on a connection of this thread: for an in-memory database (which a worker
 * cannot open) and for tools that write a few batches and exit (the usage-query bench).
 */
export function createInlineSink(sqlite: Database): LedgerSink {
  const apply = createSqliteApplier(sqlite);
  return {
    write: async (batch) => {
      try {
        return apply(batch);
      } catch (err) {
        throw refusedAsData(err) ? new RefusedAsData((err as Error).message) : err;
      }
    },
    close: async () => {},
  };
}
