import type { Config } from '../config.js';
import { createSecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/client.js';
import { query } from '../db/dialect.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ProxyStage } from '../exchange/stage.js';

/**
 * Bring your own key: a project with its own upstream key sends that key instead of GEMINI_API_KEY,
 * and the usage row records its id. Decrypted secrets are cached by id — an id's secret never
 * changes (rotation issues a new id) — so the hot path does no SQLite read after the first request.
 * Whether the key may be used comes from the resolved principal, which is re-read on every change.
 */
export function createUpstreamKeyStage(deps: { db: Db; config: Pick<Config, 'GATEWAY_SECRET'>; log: Logger }): ProxyStage {
  const box = deps.config.GATEWAY_SECRET ? createSecretBox(deps.config.GATEWAY_SECRET) : null;
  const secrets = new Map<string, string>();

  async function secretFor(id: string): Promise<string> {
    const cached = secrets.get(id);
    if (cached !== undefined) return cached;
    const [row] = await query<{ ciphertext: string }>(deps.db, 'SELECT ciphertext FROM upstream_keys WHERE id = ?', [id]);
    const sealed = row?.ciphertext;
    if (!box || !sealed) {
      deps.log.error({ upstreamKeyId: id, gatewaySecret: Boolean(box) }, 'project upstream key unusable: GATEWAY_SECRET unset or key erased');
      throw new GatewayError('unavailable', "This project's upstream key cannot be used: the gateway is missing GATEWAY_SECRET.");
    }
    let secret: string;
    try {
      secret = box.open(sealed, id);
    } catch {
      deps.log.error({ upstreamKeyId: id }, 'project upstream key does not decrypt: GATEWAY_SECRET differs from the one that stored it');
      throw new GatewayError('unavailable', "This project's upstream key cannot be decrypted by the gateway.");
    }
    if (secrets.size >= 10_000) secrets.clear();
    secrets.set(id, secret);
    return secret;
  }

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
      // Synchronous once cached: the data plane does not pay a promise per request.
      const cached = secrets.get(id);
      if (cached !== undefined) ctx.upstreamKey = { id, secret: cached };
      else return secretFor(id).then((secret) => void (ctx.upstreamKey = { id, secret }));
    },
  };
}
