import type { Statement } from 'better-sqlite3';
import type { Config } from '../config.js';
import { createSecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/client.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Secrets of projects' own upstream keys (bring-your-own-key), decrypted on first use. */
export interface StoredKeySecrets {
  /** The secret of upstream key `id`; throws `unavailable` when it cannot be used (no GATEWAY_SECRET, erased, wrong secret). */
  secretFor(id: string): string;
}

/**
 * Decrypted secrets are cached by id — an id's secret never changes (rotation issues a new id) —
 * so only the first use reads SQLite. Shared by the data plane and the batch poller.
 */
export function createStoredKeySecrets(deps: { db: Db; config: Pick<Config, 'GATEWAY_SECRET'>; log: Logger }): StoredKeySecrets {
  const box = deps.config.GATEWAY_SECRET ? createSecretBox(deps.config.GATEWAY_SECRET) : null;
  const load: Statement<[string], { ciphertext: string }> = deps.db.$client.prepare('SELECT ciphertext FROM upstream_keys WHERE id = ?');
  const secrets = new Map<string, string>();

  return {
    secretFor(id) {
      const cached = secrets.get(id);
      if (cached !== undefined) return cached;
      const sealed = load.get(id)?.ciphertext;
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
}
