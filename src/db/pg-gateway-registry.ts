import { hostname } from 'node:os';
import pg from 'pg';
import { SharedDatabaseError } from './gateway-registry.js';
import { printableUrl, scrubDbText } from './pg-url.js';
import { DatabaseUnavailableError } from './postgres.js';

/**
 * One advisory lock key for "gateways serving from this database" ("ggw" + "gate"). Gateways with
 * REDIS_URL hold it in shared mode, a gateway without holds it exclusively: Postgres itself then
 * refuses every mix that would multiply budgets (a second unshared gateway, or shared ones beside
 * an unshared one), and two that start together cannot both win.
 */
export const GATEWAY_LOCK_ID = 0x67677700_67617465n;

const LABEL = 'gemini-gateway';

/**
 * Registers this process as a gateway on the Postgres database at `url`, on a connection of its own
 * held for the process's life. A session-level lock goes with its session: a crashed or killed
 * gateway's lock is gone as soon as the server sees the connection close, so nothing stale ever
 * blocks a restart. (Behind PgBouncer in transaction mode session locks do not hold: point
 * DATABASE_URL at Postgres itself or a session-mode pool.)
 */
export async function registerPostgresGateway(
  url: string,
  shared: boolean,
  opts: { connectTimeoutMs: number; onLost?: (message: string) => void },
): Promise<{ release(): void }> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    // Read back by the gateway a lock refuses, to name who holds it.
    application_name: `${LABEL} pid ${process.pid} on ${hostname()}${shared ? ' shared' : ''}`.slice(0, 63),
  });
  let released = false;
  let lost = false;
  // A server restart ends the session and with it the lock: said once, the gateway keeps serving.
  const onLost = (why: string) => {
    if (released || lost) return;
    lost = true;
    opts.onLost?.(`gateway registration connection lost (a second gateway without REDIS_URL would go unnoticed until this one restarts): ${scrubDbText(why, url)}`);
  };
  client.on('error', (err) => onLost(err.message));
  client.on('end', () => onLost('connection closed'));
  try {
    await client.connect();
  } catch (err) {
    released = true;
    await client.end().catch(() => {});
    // An AggregateError (IPv4 and IPv6 both refused) has an empty message; its parts say what happened.
    const e = err as { message?: string; code?: string; errors?: Array<{ message?: string }> };
    const text = e.message || e.errors?.map((x) => x.message).join('; ') || e.code || String(err);
    throw new DatabaseUnavailableError(`cannot connect to Postgres at ${printableUrl(url)}: ${scrubDbText(text, url)}`);
  }
  const release = () => {
    released = true;
    void client.end().catch(() => {});
  };
  let holders: Holder[];
  try {
    const fn = shared ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
    const { rows } = await client.query<{ ok: boolean }>(`SELECT ${fn}($1) AS ok`, [GATEWAY_LOCK_ID.toString()]);
    if (rows[0]?.ok) return { release };
    holders = await lockHolders(client);
  } catch (err) {
    release();
    throw new DatabaseUnavailableError(`gateway registration on Postgres failed: ${scrubDbText((err as Error).message, url)}`);
  }
  release();
  // A shared gateway is refused only by an unshared one; name that one (any holder refuses an unshared gateway).
  const other = holders.find((h) => !shared || !h.shared) ?? holders[0];
  throw new SharedDatabaseError(
    `another gateway (${other?.who ?? 'unknown'}) serves from ${printableUrl(url)}${other && !other.shared ? ' without REDIS_URL' : ' with shared state'}: ` +
      'several gateways on one database must all set REDIS_URL (the same Redis), or each budget would be enforced once per gateway; stop the other one or set REDIS_URL on every gateway',
  );
}

interface Holder {
  who: string;
  shared: boolean;
}

/**
 * Who holds the gateway lock in this database: from pg_locks (a bigint key is split into classid, the
 * high half, and objid). Advisory locks are per database, and pg_locks lists every database's.
 */
export async function lockHolders(client: pg.Client): Promise<Holder[]> {
  const high = (GATEWAY_LOCK_ID >> 32n).toString();
  const low = (GATEWAY_LOCK_ID & 0xffffffffn).toString();
  const { rows } = await client.query<{ app: string | null; mode: string }>(
    `SELECT a.application_name AS app, l.mode FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 1 AND l.pid <> pg_backend_pid()`,
    [high, low],
  );
  return rows.map((r) => ({
    who: r.app?.startsWith(LABEL) ? r.app.slice(LABEL.length + 1).replace(/ shared$/, '') : 'a gateway',
    shared: r.mode === 'ShareLock',
  }));
}
