/** What the SQLite ledger worker is started with. */
export interface WriterData {
  path: string;
  busyTimeoutMs: number;
}

/**
 * `batch` is the LedgerBatch as JSON: posting the objects themselves cost the event loop 5-9 µs per
 * row in structured clone (measured in the running gateway), stringifying ~2 µs, and the parse
 * happens on the worker. `pragma` exists for fault tests (a read-only or full database must be one
 * the worker sees).
 */
export type WriterRequest = { id: number; kind: 'write'; batch: string } | { id: number; kind: 'pragma'; sql: string };

/** id 0 is the worker saying it opened the database. */
export type WriterReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
