import type { UsageRow } from '../metering/row.js';

/** A resource ownership change, applied in order with the batch (see ownership/resource-store.ts). */
export type ResourceOp =
  | { kind: 'claim'; name: string; resourceKind: string; tenantId: string; projectId: string; upstreamKeyId: string | null; units: number | null; keyId?: string | null; at: number }
  | { kind: 'forget'; name: string }
  | { kind: 'metered'; name: string; at: number };

/**
 * Everything one ledger transaction writes: the usage rows (priced on the main thread) and the side
 * records that ride along. Rollups and quota-counter persistence are not carried: the sink derives
 * them from the rows it actually inserted, so a retried batch never counts twice. Plain data, so it
 * crosses a worker boundary (structured clone) or goes into a Postgres query as is.
 */
export interface LedgerBatch {
  rows: UsageRow[];
  /** [keyId, lastUsedAt]: api_keys.last_used_at only ever moves forward. */
  keyTouches: Array<[string, number]>;
  resourceOps: ResourceOp[];
  /** When the batch was built (updated_at of ownership changes). */
  now: number;
}

/**
 * A sink's refusal of what a batch holds rather than of the write: a constraint, a value out of
 * range. Sent again, the same rows fail the same way, so the ledger narrows the batch down to the
 * rows at fault instead of retrying it (an outage, a lock or a crash is a plain Error: retried whole).
 */
export class RefusedAsData extends Error {}

/**
 * Where batches go. Every write is one transaction: rows, rollups, counters and side records commit
 * together or not at all, and it is idempotent on each row's rowKey, so the ledger may send a
 * batch again after any failure (a crash between commit and reply included). SQLite implements it
 * with a worker thread; a Postgres sink implements the same call with async multi-row statements.
 */
export interface LedgerSink {
  /**
   * Resolves with how many rows were new (rows already stored are skipped); rejects if nothing
   * committed, with RefusedAsData when the database refused the batch's contents.
   */
  write(batch: LedgerBatch): Promise<number>;
  close(): Promise<void>;
}

/**
 * A main-thread module whose records ride with the next batch. `take` moves its pending records
 * into the batch; `committed` tells it they are stored (until then it keeps serving them from memory).
 * A failed batch is sent again as is, so `take` is not called again until the held batch commits.
 */
export interface LedgerSide {
  take(batch: LedgerBatch): void;
  committed?(): void;
}
