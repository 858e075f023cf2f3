import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { UpstreamCredential } from '../exchange/stage.js';

/** What an upstream answer says about the key that got it (see key-failure.ts). */
export type KeyFailure = { kind: 'cooldown'; delayMs: number | null } | { kind: 'invalid'; reason: string };

export type KeyState = 'healthy' | 'cooling' | 'disabled';

export interface KeyHealth {
  id: string;
  state: KeyState;
  /** Epoch ms the cooldown ends, while cooling. */
  coolingUntil: number | null;
  disabledReason: string | null;
  /** Refusals (429, quota, invalid key) seen since start. */
  refusals: number;
}

/**
 * Where upstream keys come from. The env pool is one implementation; an admin-managed key list
 * (bring-your-own-key) can implement the same interface and be composed in front of it.
 */
export interface UpstreamKeyPool {
  /**
   * The next healthy key (round robin), skipping `exclude`; null when no key is usable. When every
   * usable key is cooling down, the one free soonest, unless `healthyOnly` (a failover, where a key
   * known to be refusing would only cost another refused call).
   */
  pick(exclude?: ReadonlySet<string>, healthyOnly?: boolean): UpstreamCredential | null;
  /** A key by id, for requests pinned to the key that created a resource; null when the pool has no such key. */
  get(id: string): UpstreamCredential | null;
  /** Tells the pool that `keyId` was refused: it cools down or is disabled. */
  report(keyId: string, failure: KeyFailure): void;
  health(): KeyHealth[];
  size(): number;
  /** Takes in what another replica learnt about a key (shared state): cooldowns only lengthen, a disable sticks. */
  merge?(keyId: string, coolingUntil: number, disabledReason: string | null): void;
}

/** Stable, non-secret id for a key configured by env: the same key gets the same id across restarts. */
export function envKeyId(secret: string): string {
  return `env:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}

/** GEMINI_API_KEY first, then GEMINI_API_KEYS, trimmed and de-duplicated. */
export function envKeySecrets(config: { GEMINI_API_KEY?: string | undefined; GEMINI_API_KEYS?: string | undefined }): string[] {
  const all = [config.GEMINI_API_KEY ?? '', ...(config.GEMINI_API_KEYS ?? '').split(',')].map((s) => s.trim()).filter(Boolean);
  return [...new Set(all)];
}

interface Slot extends UpstreamCredential {
  coolingUntil: number;
  disabledReason: string | null;
  refusals: number;
}

/** The pool of keys from GEMINI_API_KEY / GEMINI_API_KEYS; health lives in memory (it is about the last minutes). */
export function createEnvKeyPool(secrets: string[], opts: { clock: Clock; log: Logger; defaultCooldownMs: number }): UpstreamKeyPool {
  const slots: Slot[] = secrets.map((secret) => ({ id: envKeyId(secret), secret, coolingUntil: 0, disabledReason: null, refusals: 0 }));
  const byId = new Map(slots.map((s) => [s.id, s]));
  let next = 0;
  const cred = (s: Slot): UpstreamCredential => ({ id: s.id, secret: s.secret });

  return {
    pick(exclude, healthyOnly = false) {
      const now = opts.clock.now();
      let soonest: Slot | null = null;
      for (let i = 0; i < slots.length; i++) {
        const s = slots[(next + i) % slots.length]!;
        if (s.disabledReason !== null || exclude?.has(s.id)) continue;
        if (s.coolingUntil <= now) {
          next = (next + i + 1) % slots.length;
          return cred(s);
        }
        if (!soonest || s.coolingUntil < soonest.coolingUntil) soonest = s;
      }
      // Every usable key is cooling down: upstream's own 429 (with its RetryInfo) beats a guess of ours.
      return soonest && !healthyOnly ? cred(soonest) : null;
    },
    get(id) {
      const s = byId.get(id);
      return s && s.disabledReason === null ? cred(s) : null;
    },
    report(keyId, failure) {
      const s = byId.get(keyId);
      if (!s) return;
      s.refusals++;
      if (failure.kind === 'invalid') {
        if (s.disabledReason === null) opts.log.error({ upstreamKeyId: keyId, reason: failure.reason }, 'upstream key disabled: upstream rejected it');
        s.disabledReason = failure.reason;
        return;
      }
      const delay = failure.delayMs ?? opts.defaultCooldownMs;
      s.coolingUntil = Math.max(s.coolingUntil, opts.clock.now() + delay);
      opts.log.warn({ upstreamKeyId: keyId, cooldownMs: delay }, 'upstream key cooling down');
    },
    merge(keyId, coolingUntil, disabledReason) {
      const s = byId.get(keyId);
      if (!s) return;
      s.coolingUntil = Math.max(s.coolingUntil, coolingUntil);
      if (disabledReason !== null) s.disabledReason = disabledReason;
    },
    health() {
      const now = opts.clock.now();
      return slots.map((s) => ({
        id: s.id,
        state: s.disabledReason !== null ? 'disabled' : s.coolingUntil > now ? 'cooling' : 'healthy',
        coolingUntil: s.coolingUntil > now ? s.coolingUntil : null,
        disabledReason: s.disabledReason,
        refusals: s.refusals,
      }));
    },
    size: () => slots.length,
  };
}
