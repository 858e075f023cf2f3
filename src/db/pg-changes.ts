import pg from 'pg';
import { scrubDbText } from './pg-url.js';

/** The channel migrations/postgres/0002_change_notify.sql notifies with the changed table's name. */
export const CHANGES_CHANNEL = 'gateway_changes';

/**
 * Postgres's answer to SQLite's PRAGMA data_version: a counter that moves whenever any process
 * commits a change to a table a cache depends on. Caches compare it as they compare data_version.
 */
export interface ChangeFeed {
  /** Moves on every notification, and on every loss of the listening connection (then anything may have changed). */
  counter(): number;
  /** Called with the table name, or '*' when the connection was lost. */
  onChange(listener: (table: string) => void): void;
  /** Whether the LISTEN connection is up; while it is not, caches must fall back to their TTL. */
  listening(): boolean;
  close(): Promise<void>;
}

export interface ChangeFeedOptions {
  url: string;
  connectTimeoutMs: number;
  onError?: (message: string) => void;
  /** First reconnect delay; doubles up to maxReconnectMs. */
  reconnectMs?: number;
  maxReconnectMs?: number;
  /**
   * How often the listening connection is asked `SELECT 1` (default 300 ms), and how long an answer
   * may take before it counts as lost (default 500 ms). A connection can die without closing (a
   * dropped network path, a failover, a NAT that forgot it), and a socket that only waits for
   * notifications would never notice: caches would trust it, and miss every change, for good.
   */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
}

/**
 * Opens one dedicated connection (not from the pool: it must stay checked out and has no statement
 * timeout) that LISTENs for changes, reconnecting with backoff when it drops. Resolves once listening.
 */
export async function listenForChanges(opts: ChangeFeedOptions): Promise<ChangeFeed> {
  let count = 0;
  let client: pg.Client | null = null;
  let closed = false;
  let up = false;
  let delay = opts.reconnectMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  const listeners: Array<(table: string) => void> = [];
  const bump = (table: string) => {
    count++;
    for (const l of listeners) l(table);
  };

  const lost = (c: pg.Client, err?: Error) => {
    if (client !== c) return;
    client = null;
    up = false;
    if (closed) return;
    if (err) opts.onError?.(`postgres change feed lost: ${scrubDbText(err.message, opts.url)}`);
    bump('*');
    timer = setTimeout(() => void connect().catch(() => {}), delay);
    delay = Math.min(delay * 2, opts.maxReconnectMs ?? 5000);
  };

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: opts.connectTimeoutMs, application_name: 'gemini-gateway listen' });
    client = c;
    c.on('notification', (n) => {
      if (n.channel === CHANGES_CHANNEL) bump(n.payload ?? '*');
    });
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => {});
      lost(c, err as Error);
      throw err;
    }
    up = true;
    delay = opts.reconnectMs ?? 100;
    heartbeat(c);
    // Whatever was committed while we were away was not notified to us.
    if (count > 0) bump('*');
  }

  function heartbeat(c: pg.Client): void {
    const every = opts.heartbeatMs ?? 300;
    const patience = opts.heartbeatTimeoutMs ?? 500;
    let sent = 0;
    let answered = 0;
    const beat = setInterval(() => {
      if (client !== c) return clearInterval(beat);
      if (answered < sent) return;
      const n = ++sent;
      c.query('SELECT 1').then(() => void (answered = n), () => {});
      setTimeout(() => {
        // After the poll phase: an answer already read from the socket (the event loop was only busy) counts.
        setImmediate(() => {
          if (answered >= n || client !== c) return;
          clearInterval(beat);
          lost(c, new Error(`no answer to a heartbeat within ${patience} ms`));
          // With the heartbeat still unanswered, end() destroys the socket instead of waiting on it.
          void c.end().catch(() => {});
        });
      }, patience).unref();
    }, every);
    beat.unref();
  }

  try {
    await connect();
  } catch (err) {
    closed = true;
    clearTimeout(timer);
    throw new Error(`cannot LISTEN on Postgres: ${scrubDbText((err as Error).message, opts.url)}`);
  }
  return {
    counter: () => count,
    onChange: (l) => void listeners.push(l),
    listening: () => up,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = null;
      up = false;
      await c?.end().catch(() => {});
    },
  };
}
