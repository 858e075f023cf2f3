import { performance } from 'node:perf_hooks';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { UsageRow } from './row.js';
import { countValues, USAGE_COUNT_COLUMNS } from './counts.js';

/**
 * Runs inside the batch's transaction, so derived data (rollups, last-used times) commits with the
 * rows. `afterCommit`, when present, runs once the transaction committed (a hook that queues its
 * own writes forgets them only then; after a rollback it writes them again next time).
 */
export type FlushHook = ((rows: readonly UsageRow[]) => void) & { afterCommit?: () => void };

export interface RecorderOptions {
  db: Db;
  log: Logger;
  flushIntervalMs: number;
  batchSize: number;
  hooks?: FlushHook[];
  /** Unwritten rows kept in memory while the database refuses writes; past it `saturated()` is true. */
  maxPending?: number;
  /** Prices a row as it is written, so history keeps the prices of its day. */
  cost?: (row: UsageRow) => number | null;
  /** Told about every flush attempt (metrics: flush time, failures). */
  onFlush?: (info: { rows: number; ms: number; ok: boolean }) => void;
}

export interface Recorder {
  record(row: UsageRow): void;
  /** Writes everything queued now, synchronously; returns rows written (0 if the database refused). */
  flush(): number;
  pending(): number;
  saturated(): boolean;
  /** Stops the timer and makes one last flush attempt; rows that still cannot be written are logged whole. */
  close(): number;
}

const INSERT_COLUMNS = [
  'created_at', 'request_id', 'tenant_id', 'project_id', 'key_id', 'upstream_key_id', 'method', 'api_version', 'endpoint', 'model',
  'stream', 'status', 'outcome', 'prompt_tokens', 'cached_tokens', 'output_tokens', 'thoughts_tokens', 'tool_use_prompt_tokens',
  'total_tokens', 'cache_storage_tokens', 'usage_json', 'ttfb_ms', 'latency_ms', 'bytes_in', 'bytes_out', 'cost_nano_usd',
  ...USAGE_COUNT_COLUMNS,
];
const INSERT_SQL = `INSERT INTO usage_events (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(',')})`;

/**
 * Queues rows and writes them in batched transactions off the request path. A failed write (lock
 * held elsewhere, read-only file, full disk) keeps the rows queued and retries with backoff; nothing
 * is dropped silently.
 */
export function createRecorder(opts: RecorderOptions): Recorder {
  const { db, log } = opts;
  const insert = db.$client.prepare(INSERT_SQL);
  const hooks = opts.hooks ?? [];
  const maxPending = opts.maxPending ?? 100_000;
  let queue: UsageRow[] = [];
  let timer: NodeJS.Timeout | null = null;
  let failures = 0;
  let closed = false;
  let loudAt = maxPending;

  const writeBatch = db.$client.transaction((rows: UsageRow[]) => {
    for (const r of rows) {
      const u = r.usage;
      if (r.costNanoUsd === undefined) r.costNanoUsd = opts.cost ? opts.cost(r) : null;
      insert.run(
        r.createdAt, r.requestId, r.tenantId, r.projectId, r.keyId, r.upstreamKeyId,
        r.method, r.apiVersion, r.endpoint, r.model, r.stream, r.status, r.outcome,
        u?.promptTokens ?? null, u?.cachedTokens ?? null, u?.outputTokens ?? null,
        u?.thoughtsTokens ?? null, u?.toolUsePromptTokens ?? null, u?.totalTokens ?? null, u?.cacheStorageTokens ?? null, u?.json ?? null,
        r.ttfbMs, r.latencyMs, r.bytesIn, r.bytesOut, r.costNanoUsd, ...countValues(u),
      );
    }
    for (const hook of hooks) hook(rows);
  });

  function schedule(delay: number): void {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = null;
      background();
    }, delay);
    timer.unref();
  }

  /** Off the request path: one batch per turn of the event loop, so a backlog never blocks it for long. */
  function background(): void {
    if (write(opts.batchSize) > 0 && queue.length > 0) setImmediate(background);
  }

  /** Writes up to `limit` queued rows in one transaction; on failure they stay queued, in order. */
  function write(limit: number): number {
    if (queue.length === 0) return 0;
    const rows = queue.length <= limit ? queue : queue.slice(0, limit);
    queue = queue.length <= limit ? [] : queue.slice(limit);
    const started = performance.now();
    try {
      writeBatch(rows);
      for (const hook of hooks) hook.afterCommit?.();
      opts.onFlush?.({ rows: rows.length, ms: performance.now() - started, ok: true });
      if (failures > 0) log.warn({ rows: rows.length, after: failures }, 'usage writer recovered');
      failures = 0;
      loudAt = maxPending;
      return rows.length;
    } catch (err) {
      opts.onFlush?.({ rows: rows.length, ms: performance.now() - started, ok: false });
      queue = rows.concat(queue);
      failures++;
      const level = failures === 1 || failures % 50 === 0 ? 'error' : 'debug';
      log[level]({ err: (err as Error).message, pending: queue.length, failures }, 'usage write failed; rows kept for retry');
      schedule(Math.min(5000, opts.flushIntervalMs * 2 ** Math.min(failures, 7)));
      return 0;
    }
  }

  const flush = (): number => write(Infinity);

  /** Past the bound, say so at error level, again each time the backlog grows by another bound. */
  function warnIfPilingUp(): void {
    if (queue.length < loudAt) return;
    loudAt = queue.length + maxPending;
    log.error({ pending: queue.length, maxPending, failures }, 'usage rows are piling up in memory: the database refuses writes');
  }

  /** Rows that could not be written by shutdown go to the log, complete, so an operator can replay them. */
  function logUnwritten(): void {
    for (let i = 0; i < queue.length; i += 100) {
      log.error({ unwrittenUsageRows: queue.slice(i, i + 100) }, 'usage rows could not be written; recorded here instead');
    }
    queue = [];
  }

  return {
    record(row) {
      queue.push(row);
      // A row that settles after close (a request cut at the end of the grace period) is still written now.
      if (closed) {
        if (flush() === 0) logUnwritten();
        return;
      }
      warnIfPilingUp();
      if (queue.length >= opts.batchSize && failures === 0) setImmediate(background);
      else schedule(opts.flushIntervalMs);
    },
    flush,
    pending: () => queue.length,
    saturated: () => queue.length >= maxPending,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const written = flush();
      if (queue.length > 0) logUnwritten();
      return written;
    },
  };
}
