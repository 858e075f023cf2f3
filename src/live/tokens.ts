import { randomBytes } from 'node:crypto';
import { recordAudit } from '../audit/audit-log.js';
import type { KeyResolver } from '../auth/key-resolver.js';
import { hashKey } from '../auth/keys.js';
import type { Principal } from '../exchange/principal.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { execute, query, transaction } from '../db/dialect.js';
import { GatewayError } from '../errors.js';
import { isObject, type Json } from '../values.js';

/** Recognisable by secret scanners and by the log scrubber (redact.ts), like gateway keys. */
const TOKEN_PREFIX = 'auth_tokens/ggwt_';
const MINUTE = 60_000;
/** Google's defaults and bound: expireTime 30 min, newSessionExpireTime 60 s, both at most 20 h ahead. */
const DEFAULT_EXPIRE_MS = 30 * MINUTE;
const DEFAULT_NEW_SESSION_MS = MINUTE;
const MAX_AHEAD_MS = 20 * 60 * MINUTE;
/** The largest uses count both backends store (int4). */
const MAX_USES = 2 ** 31 - 1;

/** The token as a session uses it: whose it is and what it allows. */
export interface TokenGrant {
  id: string;
  principal: Principal;
  expiresAt: number;
  /** The constrained setup, or null. */
  setup: Json | null;
  fieldMask: string | null;
}

export interface LiveTokens {
  /** `POST /{v}/auth_tokens`: issues a gateway token bound to the caller's project; returns Google's AuthToken shape. */
  create(principal: Principal, body: unknown, requestId: string): Promise<Json>;
  /** Checks a token (expiry, uses left, the issuing key still valid) without spending it. Throws 401. */
  verify(secret: string | undefined): Promise<TokenGrant>;
  /** Spends one use once the session is admitted, and audits it. Throws 401 when another session took the last one. */
  take(grant: TokenGrant, requestId: string): Promise<void>;
}

interface TokenRow {
  id: string;
  key_id: string;
  uses_left: number | null;
  expires_at: number;
  new_session_expires_at: number;
  setup_json: string | null;
  field_mask: string | null;
}

/**
 * Ephemeral tokens issued and checked by the gateway itself, so a browser holding one still goes
 * through the gateway (metered, within its project's quotas and scopes) and no Google token is ever
 * minted with a gateway upstream key. Only the SHA-256 of a token is stored.
 */
export function createLiveTokens({ db, clock, keys }: { db: Db; clock: Clock; keys: KeyResolver }): LiveTokens {
  const INSERT = `INSERT INTO live_tokens (id, created_at, hash, tenant_id, project_id, key_id, uses_left, uses_total,
    expires_at, new_session_expires_at, setup_json, field_mask) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`;
  const BY_HASH = 'SELECT id, key_id, uses_left, expires_at, new_session_expires_at, setup_json, field_mask FROM live_tokens WHERE hash = ?';
  // One statement takes a use, so two sessions racing for the last use cannot both get it.
  const TAKE = 'UPDATE live_tokens SET uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END, last_used_at = ? WHERE id = ? AND (uses_left IS NULL OR uses_left > 0)';

  return {
    async create(principal, body, requestId) {
      const now = clock.now();
      const b = isObject(body) ? body : {};
      const uses = b.uses === undefined ? 1 : b.uses;
      // uses_left is int4 on Postgres: a larger count would fail the INSERT (a 500), and none is needed.
      if (typeof uses !== 'number' || !Number.isInteger(uses) || uses < 0 || uses > MAX_USES) {
        throw new GatewayError('invalid_argument', `uses must be an integer from 0 to ${MAX_USES} (0 = unlimited).`);
      }
      const expiresAt = timeField(b.expireTime, 'expireTime', now + DEFAULT_EXPIRE_MS, now);
      const newSessionExpiresAt = timeField(b.newSessionExpireTime, 'newSessionExpireTime', Math.min(now + DEFAULT_NEW_SESSION_MS, expiresAt), now);
      const setup = b.bidiGenerateContentSetup;
      if (setup !== undefined && !isObject(setup)) throw new GatewayError('invalid_argument', 'bidiGenerateContentSetup must be an object.');
      const mask = b.fieldMask === undefined ? null : Array.isArray(b.fieldMask) ? b.fieldMask.join(',') : b.fieldMask;
      if (mask !== null && typeof mask !== 'string') throw new GatewayError('invalid_argument', 'fieldMask must be a string of comma-separated field paths.');
      const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
      const id = `tok_${randomBytes(9).toString('base64url')}`;
      const setupJson = setup === undefined ? null : JSON.stringify(setup);
      await transaction(db, async (tx) => {
        await execute(tx, INSERT, [id, now, hashKey(secret), principal.tenantId, principal.projectId, principal.keyId, uses === 0 ? null : uses, uses, expiresAt, newSessionExpiresAt, setupJson, mask]);
        await recordAudit(tx, {
          actor: `key:${principal.keyId}`,
          action: 'auth_token.create',
          target: { type: 'auth_token', id },
          after: { projectId: principal.projectId, uses, expiresAt, newSessionExpiresAt, model: isObject(setup) ? setup.model ?? null : null, fieldMask: mask },
          at: now,
          requestId,
        });
      });
      return {
        name: secret,
        uses,
        expireTime: new Date(expiresAt).toISOString(),
        newSessionExpireTime: new Date(newSessionExpiresAt).toISOString(),
        ...(setup === undefined ? {} : { bidiGenerateContentSetup: setup }),
        ...(mask === null ? {} : { fieldMask: mask }),
      };
    },

    async verify(secret) {
      const now = clock.now();
      if (!secret?.startsWith(TOKEN_PREFIX)) throw new GatewayError('unauthenticated', 'Missing or malformed ephemeral token.');
      const [row] = await query<TokenRow>(db, BY_HASH, [hashKey(secret)]);
      if (!row) throw new GatewayError('unauthenticated', 'Ephemeral token not valid.');
      if (row.new_session_expires_at <= now || row.expires_at <= now) throw new GatewayError('unauthenticated', 'Ephemeral token has expired for new sessions.');
      if (row.uses_left !== null && row.uses_left <= 0) throw new GatewayError('unauthenticated', 'Ephemeral token has no uses left.');
      const owner = await keys.resolveId(row.key_id);
      if (!owner.ok) throw new GatewayError('unauthenticated', `The key that issued this ephemeral token is ${owner.reason === 'unknown' ? 'gone' : owner.reason}.`);
      return {
        id: row.id,
        principal: owner.principal,
        expiresAt: row.expires_at,
        setup: row.setup_json === null ? null : (JSON.parse(row.setup_json) as Json),
        fieldMask: row.field_mask,
      };
    },

    async take(grant, requestId) {
      const now = clock.now();
      const took = await transaction(db, async (tx) => {
        const ok = (await execute(tx, TAKE, [now, grant.id])) === 1;
        if (ok) await recordAudit(tx, { actor: `key:${grant.principal.keyId}`, action: 'auth_token.use', target: { type: 'auth_token', id: grant.id }, at: now, requestId });
        return ok;
      });
      if (!took) throw new GatewayError('unauthenticated', 'Ephemeral token has no uses left.');
    },
  };
}

function timeField(v: unknown, name: string, fallback: number, now: number): number {
  if (v === undefined || v === null) return fallback;
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw new GatewayError('invalid_argument', `${name} must be an RFC 3339 timestamp.`);
  if (t <= now || t > now + MAX_AHEAD_MS) throw new GatewayError('invalid_argument', `${name} must be in the future and at most 20 hours ahead.`);
  return t;
}
