import type { KeyResolver } from '../auth/key-resolver.js';
import type { AuthThrottle } from '../auth/throttle.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ResourceStore } from '../ownership/resource-store.js';
import type { Quotas } from '../quota/quotas.js';
import type { UpstreamKeyPool } from '../upstream/key-pool.js';
import { createSharedAuthThrottle } from './auth-throttle.js';
import { createChangeFeed } from '../shared/change-feed.js';
import { createSharedKeyHealth } from './key-health.js';
import type { SharedState } from '../shared/redis.js';

interface Local {
  keys: KeyResolver;
  quotas: Quotas;
  resources: ResourceStore;
  keyPool: UpstreamKeyPool;
  throttle: AuthThrottle;
}

/**
 * The same services, shared with the other replicas through Redis: writes made here (the admin
 * API's invalidations) are announced, announcements from elsewhere drop the matching cache, key
 * health and the auth throttle are pooled. Quotas share their counters themselves (redis-counters.ts).
 */
export function shareAcrossReplicas(
  local: Local,
  { shared, log, clock, config }: { shared: SharedState; log: Logger; clock: Clock; config: Pick<Config, 'AUTH_FAILURE_LIMIT' | 'AUTH_FAILURE_WINDOW_MS'> },
): Local & { close(): Promise<void> } {
  const feed = createChangeFeed(shared, log);
  feed.subscribe((c) => {
    const all = c.topic === '*';
    // Accounts cover keys, projects, tenants and their upstream keys: all resolved through one cache.
    if (all || c.topic === 'accounts') local.keys.invalidate();
    if (all || c.topic === 'limits') local.quotas.reload();
    if (c.topic === 'resources' && c.item) local.resources.invalidate(c.item);
  });
  const health = createSharedKeyHealth({ shared, feed, log, clock });
  const keyPool: UpstreamKeyPool = {
    ...local.keyPool,
    report(keyId, failure) {
      local.keyPool.report(keyId, failure);
      const h = local.keyPool.health().find((k) => k.id === keyId);
      if (h) health.onChange(keyId, h.coolingUntil ?? 0, h.disabledReason);
    },
  };
  health.attach(local.keyPool);
  return {
    keys: { ...local.keys, invalidate: () => (local.keys.invalidate(), feed.publish({ topic: 'accounts' })) },
    quotas: { ...local.quotas, reload: async () => (await local.quotas.reload(), feed.publish({ topic: 'limits' })) },
    resources: { ...local.resources, invalidate: (name) => (local.resources.invalidate(name), feed.publish({ topic: 'resources', item: name })) },
    keyPool,
    throttle: createSharedAuthThrottle(local.throttle, { shared, feed, limit: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW_MS, clock, log }),
    close: () => feed.close(),
  };
}
