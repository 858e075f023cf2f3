import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { UpstreamCredential } from '../exchange/stage.js';
import { AnswerTooLargeError, type ResourceAnswer, type ResourceReader } from '../upstream/resource-read.js';
import { finishedBatch, responsesFileUsage } from '../metering/batch-usage.js';
import type { Usage } from '../metering/usage.js';
import { claimResponsesFile, recordFinishedBatch } from './batch-meter.js';
import type { CompletionDeps } from './completion.js';
import { unmeteredLongRunning } from './unmetered.js';
import { claimGeneratedVideos, recordFinishedVideo, VIDEO_OPERATION } from './video-meter.js';

export interface BatchPollerOptions extends CompletionDeps {
  db: Db;
  log: Logger;
  clock: Clock;
  read: ResourceReader;
  /** The key that holds a batch (its resource row's upstream_key_id), or any pool key when it has none; null when unusable. */
  credential(upstreamKeyId: string | null): UpstreamCredential | null | Promise<UpstreamCredential | null>;
  /** Between scans of the database, and the first delay of each batch's backoff. */
  intervalMs: number;
  /** The longest a batch waits between two polls. */
  maxIntervalMs: number;
  /** Upstream GETs in flight at once. */
  concurrency: number;
  /** The API version the GETs use. */
  apiVersion?: string;
  /** A read still unanswered after this long is abandoned and retried later (default 60 s). */
  readTimeoutMs?: number;
  /** Told about every refused read, so a 429 or an invalid key reaches the key pool as it would from a client's request. */
  onRefused?(keyId: string, answer: ResourceAnswer): void;
}

export interface BatchPoller {
  start(): void;
  /** Stops scanning, cuts polls in flight (a batch not metered yet is polled again after a restart) and waits for them. */
  stop(): Promise<void>;
  /** One scan and every poll that is due now, awaited. */
  tick(): Promise<void>;
  /**
   * Reads one batch or Veo operation now, metering it if it is final. Resolves true when its usage
   * is recorded (now or earlier) or upstream no longer has it, false when it is still running or
   * could not be read.
   */
  settle(name: string): Promise<boolean>;
}

/** A responses file that could not be read this time: the batch is read again after its backoff. */
const RETRY = Symbol('retry');

interface Tracked {
  dueAt: number;
  misses: number;
  warned: boolean;
}

/**
 * Follows every batch (and Veo operation) the gateway knows until it reaches a final state, so one
 * nobody reads is still metered. The work list is the database (resources of kind `batches`, and
 * `models/{m}/operations/{id}`, with no usage_recorded_at): a restart picks up where it left off, and
 * one a client's GET or another replica metered drops out at the next scan. Each backs off
 * exponentially between polls (intervalMs, 2×, 4×… up to maxIntervalMs); at most `concurrency` GETs
 * run at once. The row itself is the one completion row (ownership/completion.ts): whichever reader
 * is first writes it.
 */
export function createBatchPoller(opts: BatchPollerOptions): BatchPoller {
  const { log } = opts;
  const version = opts.apiVersion ?? 'v1beta';
  const readTimeoutMs = opts.readTimeoutMs ?? 60_000;
  const tracked = new Map<string, Tracked>();
  /** Answered 404 upstream (deleted there): not polled again until a restart. */
  const gone = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const aborter = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let scanning: Promise<void> | null = null;

  const now = (): number => Date.now();

  function backoff(t: Tracked): void {
    t.misses++;
    t.dueAt = now() + Math.min(opts.maxIntervalMs, opts.intervalMs * 2 ** Math.min(t.misses - 1, 30));
  }

  async function scan(): Promise<void> {
    const names = await unmeteredLongRunning(opts.db);
    const live = new Set(names);
    for (const name of tracked.keys()) if (!live.has(name)) tracked.delete(name);
    for (const name of names) if (!tracked.has(name) && !gone.has(name)) tracked.set(name, { dueAt: now(), misses: 0, warned: false });
  }

  async function poll(name: string, t: Tracked): Promise<void> {
    await opts.store.load([name]);
    const owner = opts.store.owner(name);
    if (!owner || owner.usageRecordedAt !== null) {
      tracked.delete(name);
      return;
    }
    let key: UpstreamCredential | null;
    try {
      key = await opts.credential(owner.upstreamKeyId);
    } catch {
      key = null; // a stored key that does not decrypt: already logged where it failed
    }
    if (!key) {
      if (!t.warned) log.warn({ batch: name, upstreamKeyId: owner.upstreamKeyId }, 'batch poller: the upstream key that holds this batch is not usable; will retry');
      t.warned = true;
      backoff(t);
      return;
    }
    let answer;
    try {
      answer = await opts.read(`/${version}/${name}`, key, AbortSignal.any([aborter.signal, AbortSignal.timeout(readTimeoutMs)]));
    } catch (err) {
      if (stopped) return;
      log.warn({ batch: name, err: (err as Error).message }, 'batch poller: upstream read failed; will retry');
      backoff(t);
      return;
    }
    if (answer.status === 404) {
      gone.add(name);
      tracked.delete(name);
      log.warn({ batch: name, upstreamKeyId: key.id }, 'batch poller: batch not found upstream; not polled again until restart');
      return;
    }
    if (answer.status !== 200) {
      opts.onRefused?.(key.id, answer);
      log.warn({ batch: name, status: answer.status, upstreamKeyId: key.id }, 'batch poller: upstream refused the read; will retry');
      backoff(t);
      return;
    }
    if (VIDEO_OPERATION.test(name)) {
      claimGeneratedVideos(opts.store, name, answer.json);
      const witness = { now: opts.clock.now(), requestId: randomUUID(), keyId: null, method: 'GET', apiVersion: version };
      if (recordFinishedVideo(opts, witness, name, answer.json)) tracked.delete(name);
      else backoff(t);
      return;
    }
    const done = finishedBatch(answer.json);
    claimResponsesFile(opts.store, name, answer.json);
    let fileUsage: Usage | null | undefined;
    if (done && done.usage === null && done.responsesFile !== null) {
      const read = await responsesUsage(name, done.responsesFile, key);
      if (read === RETRY) {
        backoff(t);
        return;
      }
      fileUsage = read;
    }
    const witness = { now: opts.clock.now(), requestId: randomUUID(), keyId: null, method: 'GET', apiVersion: version };
    if (recordFinishedBatch(opts, witness, name, answer.json, { fileUsage })) {
      tracked.delete(name);
      log.info({ batch: name }, 'batch poller: batch finished; usage recorded');
    } else if (opts.store.owner(name)?.usageRecordedAt != null) {
      tracked.delete(name); // a client's GET metered it while this read was in flight
    } else {
      backoff(t);
    }
  }

  /** The usage in a finished batch's responses file; null when the file is gone (metered without tokens), RETRY on a failed read. */
  async function responsesUsage(batch: string, file: string, key: UpstreamCredential): Promise<Usage | null | typeof RETRY> {
    try {
      const answer = await opts.read(`/${version}/${file}:download?alt=media`, key, AbortSignal.any([aborter.signal, AbortSignal.timeout(readTimeoutMs)]));
      if (answer.status === 200) return responsesFileUsage(answer.body.toString('utf8'));
      if (answer.status === 403 || answer.status === 404) {
        log.warn({ batch, file, status: answer.status }, 'batch poller: the responses file is gone; batch metered without tokens');
        return null;
      }
      log.warn({ batch, file, status: answer.status }, 'batch poller: responses file read refused; will retry');
    } catch (err) {
      if (err instanceof AnswerTooLargeError) {
        log.error({ batch, file }, 'batch poller: the responses file is too large to read; batch metered without tokens');
        return null;
      }
      if (!stopped) log.warn({ batch, file, err: (err as Error).message }, 'batch poller: responses file read failed; will retry');
    }
    return RETRY;
  }

  function dispatch(): void {
    if (stopped) return;
    const at = now();
    for (const [name, t] of tracked) {
      if (running.size >= opts.concurrency) return;
      if (running.has(name) || t.dueAt > at) continue;
      const p = poll(name, t)
        .catch((err: Error) => log.error({ batch: name, err: err.message }, 'batch poller: poll failed'))
        .finally(() => {
          running.delete(name);
          dispatch();
        });
      running.set(name, p);
    }
  }

  /** A scan, then every due poll the concurrency allows; later ones start as earlier ones finish. */
  async function round(): Promise<void> {
    if (stopped) return;
    scanning ??= scan()
      .catch((err: Error) => log.error({ err: err.message }, 'batch poller: scan failed'))
      .finally(() => {
        scanning = null;
      });
    await scanning;
    dispatch();
  }

  async function tick(): Promise<void> {
    await round();
    // Wait for this round, including the polls dispatched as earlier ones finished.
    while (running.size > 0) await Promise.allSettled([...running.values()]);
  }

  // The timer never waits for reads: a slow one holds its own slot, not the next scan.
  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void round().finally(schedule);
    }, opts.intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (stopped || timer) return;
      // The first round runs at once: batches left unmetered by a previous run are due now.
      void round().finally(schedule);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      aborter.abort();
      await scanning;
      await Promise.allSettled([...running.values()]);
    },
    tick,
    async settle(name) {
      if (!stopped) {
        // A poll of this name already in flight is joined, never doubled.
        const inFlight = running.get(name);
        if (inFlight) await inFlight;
        else {
          const t = tracked.get(name) ?? { dueAt: now(), misses: 0, warned: false };
          tracked.set(name, t);
          const p = poll(name, t).finally(() => running.delete(name));
          running.set(name, p);
          await p;
        }
      }
      return gone.has(name) || opts.store.owner(name)?.usageRecordedAt != null;
    },
  };
}
