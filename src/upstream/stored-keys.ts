import type { Config } from '../config.js';
import { createSecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/client.js';
import { query } from '../db/dialect.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Secrets of projects' own upstream keys (bring-your-own-key), decrypted on first use. */
export interface StoredKeySecrets {
  /** The secret when already decrypted, so the data plane's common case stays synchronous. */
  cached(id: string): string | undefined;
  /** The secret of upstream key `id` (one query on first use); rejects with `unavailable` when it cannot be used (no GATEWAY_SECRET, erased, wrong secret). */
  secretFor(id: string): Promise<string>;
  /**
   * The secret, only while the key is neither disabled, revoked nor deleted; its state is read on
   * every call. For readers with no principal to carry that state (the batch poller): the cached
   * secret outlives a disable or a revoke, and an admin who stops a key expects it to stop.
   */
  usableSecretFor(id: string): Promise<string | null>;
}

/**
 * Decrypted secrets are cached by id — an id's secret never changes (rotation issues a new id) —
 * so only the first use reads the database. Shared by the data plane and the batch poller.
 */
export function createStoredKeySecrets(deps: { db: Db; config: Pick<Config, 'GATEWAY_SECRET'>; log: Logger }): StoredKeySecrets {
  const box = deps.config.GATEWAY_SECRET ? createSecretBox(deps.config.GATEWAY_SECRET) : null;
  const secrets = new Map<string, string>();

  const api: StoredKeySecrets = {
    cached: (id) => secrets.get(id),
    async usableSecretFor(id) {
      const [row] = await query<{ off: number | null }>(deps.db, 'SELECT coalesce(disabled_at, revoked_at, deleted_at) AS off FROM upstream_keys WHERE id = ?', [id]);
      if (!row || row.off !== null) return null;
      return api.secretFor(id);
    },
    async secretFor(id) {
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
    },
  };
  return api;
}
