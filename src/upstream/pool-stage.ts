import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ProxyStage } from '../exchange/stage.js';
import { KEY_FAILURE_STATUSES, keyFailure } from './key-failure.js';
import type { UpstreamKeyPool } from './key-pool.js';

/** ctx.state: the pool keys this request has been refused on, and the retries it has left. */
const FAILOVER = Symbol('upstream key failover');

interface Failover {
  tried: Set<string>;
  retries: number;
}

/**
 * Chooses the upstream key. Order of precedence: a pinned resource's key (Google scopes files,
 * caches, batches and interactions to the key's project, so no other key can serve it, and there
 * is no failover); a key already chosen by an earlier stage (bring-your-own-key sets one with an
 * id); otherwise the pool's next healthy key, with failover to another key on a key-level refusal.
 */
export function createKeyStage(pool: UpstreamKeyPool, config: Pick<Config, 'UPSTREAM_RETRY_ATTEMPTS'>, log: Logger): ProxyStage {
  return {
    name: 'upstream-key',
    before(ctx) {
      const pinned = ctx.pinnedKeyId;
      if (pinned) {
        const key = pool.get(pinned);
        if (key) ctx.upstreamKey = key;
        else if (ctx.upstreamKey?.id !== pinned) {
          throw new GatewayError('unavailable', 'The upstream key that holds this resource is not configured or disabled.');
        }
      } else if (ctx.upstreamKey?.id) {
        return; // chosen by an earlier stage (bring-your-own-key): not ours to balance or retry
      } else if (pool.size() > 0) {
        const key = pool.pick();
        if (!key) throw new GatewayError('unavailable', 'Every upstream key is disabled; see the gateway log or GET /admin/v1/upstream-key-pool.');
        ctx.upstreamKey = key;
      } else {
        return;
      }
      // Refusals that may be the key's fault are held back and shown to onUpstreamFailure first.
      ctx.holdStatuses = KEY_FAILURE_STATUSES;
      ctx.state[FAILOVER] = { tried: new Set(), retries: pinned ? 0 : config.UPSTREAM_RETRY_ATTEMPTS } satisfies Failover;
    },
    onUpstreamFailure(ctx, held) {
      const failover = ctx.state[FAILOVER] as Failover | undefined;
      const current = ctx.upstreamKey;
      if (!failover || !current?.id) return false;
      const failure = keyFailure(held.status, held.headers, held.body);
      if (!failure) return false;
      pool.report(current.id, failure);
      failover.tried.add(current.id);
      if (!held.replayable || failover.retries <= 0) return false;
      // Only to a key not cooling down: one that is would refuse too, and the client gets this answer anyway.
      const next = pool.pick(failover.tried, true);
      if (!next) return false;
      failover.retries--;
      log.info({ requestId: ctx.requestId, from: current.id, to: next.id, status: held.status }, 'retrying on another upstream key');
      ctx.upstreamKey = next;
      return true;
    },
  };
}
