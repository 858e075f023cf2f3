import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { keyFailure } from './key-failure.js';
import type { UpstreamKeyPool } from './key-pool.js';
import type { ProxyStage } from '../exchange/stage.js';

/** Set in ctx.state by an earlier stage (ownership) when the request touches a resource held by one upstream key. */
export const PINNED_KEY = Symbol('pinned upstream key id');

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
      const pinned = ctx.state.get(PINNED_KEY) as string | undefined;
      let retries = pinned ? 0 : config.UPSTREAM_RETRY_ATTEMPTS;
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
      const tried = new Set<string>();
      ctx.upstreamFailure = (status, headers, body, replayable) => {
        const current = ctx.upstreamKey!;
        const failure = keyFailure(status, headers, body);
        if (!failure) return null;
        pool.report(current.id!, failure);
        tried.add(current.id!);
        if (!replayable || retries <= 0) return null;
        const next = pool.pick(tried);
        if (!next) return null;
        retries--;
        log.info({ requestId: ctx.requestId, from: current.id, to: next.id, status }, 'retrying on another upstream key');
        ctx.upstreamKey = next;
        return next;
      };
    },
  };
}
