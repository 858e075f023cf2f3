import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { RefusedAsData, type LedgerBatch, type LedgerSink } from './batch.js';
import type { WriterData, WriterReply, WriterRequest } from './sqlite-protocol.js';
import { writerEntry } from './worker-entry.js';

export interface SqliteSink extends LedgerSink {
  /** Runs a PRAGMA on the worker's connection (fault tests make the database read-only or full this way). */
  pragma(sql: string): Promise<unknown>;
  /** The running worker, if any: tests terminate it to prove a crash loses nothing. */
  worker(): Worker | null;
}

type Unsent = WriterRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;
type Waiter = { resolve: (value: unknown) => void; reject: (err: Error) => void };

/**
 * Writes ledger batches on a worker thread with its own SQLite connection, so no transaction,
 * COMMIT or lock wait runs on the event loop. The worker starts with the sink; if it dies
 * (crash, terminate), every outstanding call is rejected (the ledger keeps those batches and sends
 * them again) and the next call starts a new one.
 */
export function createSqliteSink({ path, log, busyTimeoutMs = 0 }: { path: string; log: Logger; busyTimeoutMs?: number }): SqliteSink {
  let current: { worker: Worker; ready: Promise<void> } | null = null;
  const waiters = new Map<number, Waiter>();
  let nextId = 1;
  let starts = 0;
  let closed = false;

  function start(): { worker: Worker; ready: Promise<void> } {
    if (current) return current;
    if (starts++ > 0) log.warn({ restarts: starts - 1 }, 'usage writer thread restarted');
    let markReady!: () => void;
    let failStart!: (err: Error) => void;
    const ready = new Promise<void>((res, rej) => ((markReady = res), (failStart = rej)));
    ready.catch(() => {});
    const state = { worker: null as unknown as Worker, ready };
    current = state;
    void writerEntry().then(
      (file) => {
        if (current !== state) return;
        const worker = new Worker(file, { workerData: { path, busyTimeoutMs } satisfies WriterData });
        state.worker = worker;
        worker.unref();
        worker.on('message', (m: WriterReply) => {
          if (m.id === 0) return markReady();
          const w = waiters.get(m.id);
          if (!w) return;
          waiters.delete(m.id);
          if (m.ok) w.resolve(m.value);
          else w.reject(m.data ? new RefusedAsData(m.error) : new Error(m.error));
        });
        const died = (err: Error): void => {
          if (current !== state) return;
          current = null;
          failStart(err);
          for (const w of waiters.values()) w.reject(err);
          waiters.clear();
        };
        worker.on('error', (err) => died(err));
        worker.on('exit', (code) => died(new Error(`usage writer thread exited (code ${code})`)));
      },
      (err: Error) => {
        current = null;
        failStart(err);
      },
    );
    return state;
  }

  async function call(req: Unsent): Promise<unknown> {
    if (closed) throw new Error('usage writer is closed');
    const state = start();
    await state.ready;
    if (current !== state) throw new Error('usage writer thread exited');
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiters.set(id, { resolve, reject });
      state.worker.postMessage({ ...req, id } as WriterRequest);
    });
  }

  // Started now rather than on the first write, so the first batch does not wait for a thread to boot.
  start();
  return {
    write: (batch: LedgerBatch) => call({ kind: 'write', batch }) as Promise<number>,
    pragma: (sql) => call({ kind: 'pragma', sql }),
    worker: () => current?.worker ?? null,
    async close() {
      closed = true;
      const state = current;
      current = null;
      if (state?.worker) await state.worker.terminate();
    },
  };
}
