import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.js';
import type { UsageRow } from '../metering/row.js';
import { RefusedAsData, type LedgerBatch, type LedgerSide, type LedgerSink } from './batch.js';

export interface LedgerOptions {
  sink: LedgerSink;
  log: Logger;
  flushIntervalMs: number;
  batchSize: number;
  /** Main-thread modules whose records ride with each batch (key last-used times, resource ownership). */
  sides?: LedgerSide[];
  /** Unwritten rows kept in memory while the database refuses writes; past it `saturated()` is true. */
  maxPending?: number;
  /** Prices a row as it is batched, so history keeps the prices of its day. */
  cost?: (row: UsageRow) => number | null;
  /** Told about every write attempt (metrics: flush time, failures). */
  onFlush?: (info: { rows: number; ms: number; ok: boolean }) => void;
  /** Told about rows the database refused as data, logged and left out (metrics). */
  onSetAside?: (rows: number) => void;
  now?: () => number;
}

/** The one way a usage row gets written: `record` is a push onto an array; the sink does the rest. */
export interface Ledger {
  record(row: UsageRow): void;
  /** Writes everything queued now; resolves with rows written (0 if the database refused). */
  flush(): Promise<number>;
  /** Rows not yet committed: queued, plus the batch the sink is writing or will retry. */
  pending(): number;
  saturated(): boolean;
  /** Stops the timer, writes what it can, logs whole any row still unwritable, closes the sink. */
  close(): Promise<number>;
  readonly sink: LedgerSink;
}

/**
 * Queues rows on the main thread and hands them to the sink in batches, one batch at a time. A
 * batch the sink refused (lock held elsewhere, read-only file, full disk, a crashed worker) is kept
 * whole and sent again with backoff; the sink's idempotency makes that safe. Nothing is dropped: a
 * row the database will never take is logged whole instead (isolate()).
 */
export function createLedger(opts: LedgerOptions): Ledger {
  const { sink, log } = opts;
  const sides = opts.sides ?? [];
  const maxPending = opts.maxPending ?? 100_000;
  const now = opts.now ?? Date.now;
  // Row keys: a random prefix per ledger (per process, per replica) and a counter, cheaper than a UUID a row.
  const keyPrefix = randomBytes(9).toString('base64url') + '.';
  let keySeq = 0;
  let queue: UsageRow[] = [];
  /** Built and sent, not yet committed: retried as is until it commits. */
  let held: LedgerBatch | null = null;
  /** A refused batch's pieces still to try, in order, before any new batch (isolate()). */
  const parts: LedgerBatch[] = [];
  let writing: Promise<number> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let pumping = false;
  let failures = 0;
  let closing = false;
  let closed = false;
  let loudAt = maxPending;

  const pending = (): number => queue.length + (held?.rows.length ?? 0) + parts.reduce((n, p) => n + p.rows.length, 0);

  function build(limit: number): LedgerBatch | null {
    if (queue.length === 0) return null;
    const rows = queue.length <= limit ? queue : queue.slice(0, limit);
    queue = queue.length <= limit ? [] : queue.slice(limit);
    if (opts.cost) for (const r of rows) if (r.costNanoUsd === undefined) r.costNanoUsd = opts.cost(r);
    const batch: LedgerBatch = { rows, keyTouches: [], resourceOps: [], now: now() };
    for (const side of sides) side.take(batch);
    return batch;
  }

  /**
   * One write attempt of the held batch (or a new one); concurrent callers share it. A batch the
   * database refuses as data is narrowed down to the rows at fault (isolate()) and written at once.
   */
  function attempt(): Promise<number> {
    writing ??= (async () => {
      for (;;) {
        held ??= parts.shift() ?? build(opts.batchSize);
        if (!held) return 0;
        const batch = held;
        const started = performance.now();
        try {
          await sink.write(batch);
          held = null;
          for (const side of sides) side.committed?.();
          opts.onFlush?.({ rows: batch.rows.length, ms: performance.now() - started, ok: true });
          if (failures > 0) log.warn({ rows: batch.rows.length, after: failures }, 'usage writer recovered');
          failures = 0;
          loudAt = maxPending;
          // Only isolate() makes a batch without rows (its side records alone): the rows come next.
          if (batch.rows.length === 0) continue;
          return batch.rows.length;
        } catch (err) {
          opts.onFlush?.({ rows: batch.rows.length, ms: performance.now() - started, ok: false });
          if (err instanceof RefusedAsData) {
            isolate(batch, err);
            continue;
          }
          failures++;
          const level = failures === 1 || failures % 50 === 0 ? 'error' : 'debug';
          log[level]({ err: (err as Error).message, pending: pending(), failures }, 'usage write failed; rows kept for retry');
          schedule(Math.min(5000, opts.flushIntervalMs * 2 ** Math.min(failures, 7)));
          return 0;
        }
      }
    })().finally(() => {
      writing = null;
    });
    return writing;
  }

  /**
   * Narrows down a batch the database refused as data, trying its pieces before any new batch (so no
   * new side records join them): its side records first on their own, then its rows in halves, until
   * one row is left. That row is set aside, logged whole for an operator to replay, and the others are
   * written. Held and retried, one bad row would stop every later one for good. Side records refused
   * on their own are logged and let go the same way.
   */
  function isolate(batch: LedgerBatch, err: RefusedAsData): void {
    const { rows } = batch;
    held = null;
    const part = (from: number, to: number, sides: boolean): LedgerBatch =>
      sides ? { ...batch, rows: rows.slice(from, to) } : { rows: rows.slice(from, to), keyTouches: [], resourceOps: [], now: batch.now };
    if (rows.length > 0 && (batch.keyTouches.length > 0 || batch.resourceOps.length > 0)) {
      parts.unshift(part(0, 0, true), part(0, rows.length, false));
      return;
    }
    if (rows.length > 1) {
      const half = Math.ceil(rows.length / 2);
      parts.unshift(part(0, half, false), part(half, rows.length, false));
      return;
    }
    if (rows.length === 1) {
      logUnwritten(rows, `usage row refused by the database (${err.message}); set aside, recorded here instead`);
      opts.onSetAside?.(1);
      return;
    }
    log.error({ err: err.message, keyTouches: batch.keyTouches, resourceOps: batch.resourceOps }, 'side records refused by the database; recorded here instead');
    for (const side of sides) side.committed?.();
  }

  function schedule(delay: number): void {
    if (timer || closing) return;
    timer = setTimeout(() => {
      timer = null;
      void pump();
    }, delay);
    timer.unref();
  }

  /**
   * Off the request path: batch after batch while full batches are waiting; stops at the first
   * refusal. A partial batch waits for the next tick of the interval: sending whatever arrived during
   * the last write made batches as small as one write's turnaround, and each costs a message and a COMMIT.
   */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (pending() > 0 && (await attempt()) > 0 && (queue.length >= opts.batchSize || parts.length > 0));
    } finally {
      pumping = false;
    }
    if (failures === 0 && pending() > 0 && !closing) schedule(opts.flushIntervalMs);
  }

  async function flush(): Promise<number> {
    let written = 0;
    for (;;) {
      if (pending() === 0) return written;
      const n = await attempt();
      if (n === 0) return written;
      written += n;
    }
  }

  /** Past the bound, say so at error level, again each time the backlog grows by another bound. */
  function warnIfPilingUp(): void {
    if (pending() < loudAt) return;
    loudAt = pending() + maxPending;
    log.error({ pending: pending(), maxPending, failures }, 'usage rows are piling up in memory: the database refuses writes');
  }

  /** Rows that could not be written (by shutdown, or ever) go to the log, complete, so an operator can replay them. */
  function logUnwritten(rows: UsageRow[], why = 'usage rows could not be written; recorded here instead'): void {
    for (let i = 0; i < rows.length; i += 100) {
      log.error({ unwrittenUsageRows: rows.slice(i, i + 100) }, why);
    }
  }

  return {
    sink,
    record(row) {
      if (closed) {
        // Settled after the sink closed (a request cut at the very end): the log is its only record.
        logUnwritten([row]);
        return;
      }
      row.rowKey ??= keyPrefix + (keySeq++).toString(36);
      queue.push(row);
      if (closing) return; // close() keeps flushing until the queue is empty
      warnIfPilingUp();
      if (queue.length >= opts.batchSize && failures === 0) setImmediate(pump);
      else schedule(opts.flushIntervalMs);
    },
    flush,
    pending,
    saturated: () => pending() >= maxPending,
    async close() {
      closing = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (writing) await writing;
      const written = await flush();
      closed = true;
      const left = [...(held?.rows ?? []), ...parts.flatMap((p) => p.rows), ...queue];
      held = null;
      parts.length = 0;
      queue = [];
      if (left.length > 0) logUnwritten(left);
      await sink.close();
      return written;
    },
  };
}
