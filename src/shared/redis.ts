import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { urlPasswords } from '../redact.js';

/** Redis as every replica shares it: one command connection, the key prefix, and this process's id. */
export interface SharedState {
  redis: Redis;
  /** Every key starts with `${prefix}:`. */
  prefix: string;
  /** Names this process's leases, so they can be told apart from other replicas'. */
  replicaId: string;
  /** The URL with any password replaced by ***, for log lines. */
  shownUrl: string;
  close(): Promise<void>;
}

export class RedisUnavailableError extends Error {}

/** The URL with its password replaced by `***`: nothing the gateway prints may carry it. */
export function printableRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.username && !u.password) u.username = '***';
    // ioredis reads a `password` parameter as the password too.
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return 'redis://(unparseable URL)';
  }
}

/**
 * Connects to REDIS_URL, failing within `timeoutMs` with a message that names the server but not
 * its password. Commands never queue while disconnected and time out after `commandTimeoutMs`, so a
 * dead or hung Redis turns into a prompt error the quota code can fail open (or closed) on.
 */
export async function connectShared(url: string, prefix: string, { timeoutMs = 5000, commandTimeoutMs = 2000 } = {}): Promise<SharedState> {
  const shownUrl = printableRedisUrl(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    // A connection that dies without closing (a failover, a dropped route) would otherwise stay
    // "ready" for the OS's retransmission timeout (~15 min), every command on it timing out: with
    // no byte back within this long of a command, the socket is dropped and a new one is made.
    socketTimeout: commandTimeoutMs,
    connectTimeout: Math.min(timeoutMs, 2000),
    // Reconnect forever, never slower than once a second: counters catch up as soon as it is back.
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  });
  // Errors while running are reported by whoever uses the connection; without a listener ioredis prints them.
  redis.on('error', () => {});
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const reason = scrub((err as Error).message, url);
    throw new RedisUnavailableError(`Redis at ${shownUrl} is unreachable (${reason}); start it or fix REDIS_URL, or unset REDIS_URL to run a single gateway without shared state`);
  }
  return {
    redis,
    prefix,
    replicaId: randomBytes(6).toString('hex'),
    shownUrl,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function scrub(text: string, url: string): string {
  let out = text;
  let username = '';
  try {
    username = new URL(url).username;
  } catch {
    /* an unparseable URL was never sent anywhere */
  }
  for (const s of [...urlPasswords(url), username]) if (s) out = out.split(s).join('***');
  return out;
}
