import type { LedgerBatch } from './batch.js';

/** What the SQLite ledger worker is started with. */
export interface WriterData {
  path: string;
  busyTimeoutMs: number;
}

/** `pragma` exists for fault tests (a read-only or full database must be one the worker sees). */
export type WriterRequest = { id: number; kind: 'write'; batch: LedgerBatch } | { id: number; kind: 'pragma'; sql: string };

/**
 * id 0 is the worker saying it opened the database. `data`: SQLite refused the batch's contents (a
 * constraint, a value too big), not the write itself.
 */
export type WriterReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string; data?: boolean };
