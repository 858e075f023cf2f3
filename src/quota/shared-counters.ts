import type { CounterDimension, WindowStarts } from './counters.js';
import type { WindowKind } from './windows.js';

/** One slice a request counts in, with the limits its rule sets there (none: counted, never checked). */
export interface SharedBucket {
  dim: CounterDimension;
  value: string;
  limits: { rpm?: number; tpm?: number; tpd?: number; tpmo?: number; maxConcurrent?: number } | null;
}

/** A bucket's counters as the shared store saw them during admission. */
export interface BucketCounts {
  windows: Record<WindowKind, { tokens: number; requests: number }>;
  held: number;
  inFlight: number;
}

export interface SharedAdmission {
  admitted: boolean;
  /** Set when admitted: the lease this replica renews until settle(). */
  leaseId: string | null;
  /** Per bucket, in the order given: before the reservation when refused, after it when admitted. */
  counts: BucketCounts[];
}

/** What one finished (or locally admitted) request changes in the shared counters. */
export interface SharedSettlement {
  projectId: string;
  /**
   * The shared lease to release: the one admission got, or, when admission fell back to local
   * counters, the one it tried to take (Redis may have applied it and only the answer was lost).
   */
  leaseId: string | null;
  /** Buckets and window starts of admission: requests count there. */
  admitted: Array<[CounterDimension, string]>;
  starts: WindowStarts;
  /**
   * The request count to correct in the admission windows, and when: always, or only if the lease
   * was (or was not) found, which tells whether a lost admission answer had in fact been applied.
   */
  requests: { delta: number; when: 'always' | 'lease-found' | 'lease-missing' } | null;
  /** Unique per settlement: applying it twice (a retry after a lost answer) counts it once. */
  id: string;
  /**
   * The id names the usage itself, the same on every replica (a finished batch's row key): applied
   * once across replicas, so two that see the batch finish together charge it once.
   */
  sameOnEveryReplica?: boolean;
  /** Buckets and window starts at settle time: tokens count there. */
  charged: Array<[CounterDimension, string]>;
  chargedStarts: WindowStarts;
  tokens: number;
  /** A model known only from the response also counts the request (as the in-memory store does). */
  lateModel: string | null;
  now: number;
}

/** Thrown by admit() when the shared store cannot be reached; QUOTA_FAILURE decides what follows. */
export class SharedUnavailableError extends Error {
  constructor(
    message: string,
    /** The lease the failed admission tried to take: renewed, in case Redis applied it, until settle() releases it. */
    readonly leaseId: string,
  ) {
    super(message);
  }
}

/**
 * Quota counters every replica shares. Admission checks every bucket's limits and reserves on all of
 * them or none in one atomic step; a lease lapses on its own if its replica stops renewing it.
 */
export interface SharedCounters {
  admit(projectId: string, buckets: SharedBucket[], estimate: number, starts: WindowStarts, now: number): Promise<SharedAdmission>;
  /** Never throws: what cannot be applied now is queued and applied when the store is back. */
  settle(s: SharedSettlement): void;
  /** Settlements waiting for the store (Redis unreachable). */
  pending(): number;
  /** Whether the store answers now (its connection is up): admission goes there rather than to QUOTA_FAILURE. */
  reachable(): boolean;
  close(): Promise<void>;
}
