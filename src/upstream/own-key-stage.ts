import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ProxyStage } from '../exchange/stage.js';
import { createStoredKeySecrets, type StoredKeySecrets } from './stored-keys.js';

/**
 * Bring your own key: a project with its own upstream key sends that key instead of GEMINI_API_KEY,
 * and the usage row records its id. The hot path does no SQLite read after the first request
 * (stored-keys.ts caches decrypted secrets). Whether the key may be used comes from the resolved
 * principal, which is re-read on every change.
 */
export function createUpstreamKeyStage(deps: { db: Db; config: Pick<Config, 'GATEWAY_SECRET'>; log: Logger; storedKeys?: StoredKeySecrets }): ProxyStage {
  const stored = deps.storedKeys ?? createStoredKeySecrets(deps);
  return {
    name: 'upstream-key',
    before(ctx) {
      const id = ctx.principal.upstreamKeyId;
      if (!id) return;
      const state = ctx.principal.upstreamKeyState ?? 'active';
      if (state !== 'active') {
        // Never fall back to the gateway's own key: a team that brought its key expects its own billing.
        throw new GatewayError('permission_denied', `This project's own upstream key is ${state}; ask an admin to enable, replace or detach it.`);
      }
      ctx.upstreamKey = { id, secret: stored.secretFor(id) };
    },
  };
}
