// Shared by the global setup (which probes once per run) and the replica tests.
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';

/** The Redis the replica suite shares; every test uses its own key prefix on it. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** Set by .ci/services.sh: a missing server is then a test failure instead of a suite that did not run. */
export const REQUIRE_REDIS = process.env.REQUIRE_REDIS === '1';

export function shownRedisUrl(url = TEST_REDIS_URL): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** A key prefix no other test run uses. */
export const testPrefix = (): string => `ggwtest-${randomBytes(5).toString('hex')}`;

/** Whether a server answers PING within timeoutMs; the reason when it does not. */
export async function probeRedis(url = TEST_REDIS_URL, timeoutMs = 2000): Promise<{ ok: true } | { ok: false; reason: string }> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message || 'no answer' };
  } finally {
    r.disconnect();
  }
}

/** Deletes every key under `prefix` (a test cleaning up after itself on the shared server). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 0 });
  r.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
