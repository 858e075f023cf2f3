// The SQLite ledger's worker thread: its own connection, one transaction per batch. Waiting for a
// lock here (busy_timeout) never stalls the gateway's event loop.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { createSqliteApplier, refusedAsData } from './sqlite-apply.js';
import type { WriterData, WriterReply, WriterRequest } from './sqlite-protocol.js';

const { path, busyTimeoutMs } = workerData as WriterData;
const port = parentPort!;
const sqlite = new Database(path);
// The main thread opened and migrated the file already; these match its connection.
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = NORMAL');
sqlite.pragma('foreign_keys = ON');
sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
const apply = createSqliteApplier(sqlite);

port.on('message', (msg: WriterRequest) => {
  let reply: WriterReply;
  try {
    reply = msg.kind === 'write' ? { id: msg.id, ok: true, value: apply(msg.batch) } : { id: msg.id, ok: true, value: sqlite.pragma(msg.sql) };
  } catch (err) {
    reply = { id: msg.id, ok: false, error: (err as Error).message, data: refusedAsData(err) };
  }
  port.postMessage(reply);
});
port.postMessage({ id: 0, ok: true, value: 'ready' } satisfies WriterReply);
