import type { Statement } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { hashKey } from './keys.js';
import type { AuthFailure, KeyScopes, Principal, UpstreamKeyState } from '../exchange/principal.js';
import { dataVersionReader } from '../db/data-version.js';

interface KeyRow {
  key_id: string;
  key_prefix: string;
  project_id: string;
  project_slug: string;
  tenant_id: string;
  tenant_slug: string;
  expires_at: number | null;
  revoked_at: number | null;
  key_off: number | null;
  scopes: string;
  upstream_key_id: string | null;
  upstream_key_state: UpstreamKeyState | null;
  project_off: number | null;
  tenant_off: number | null;
}

interface CacheEntry {
  row: KeyRow | undefined;
  principal: Principal | null;
  loadedAt: number;
}

type Resolution = { ok: true; principal: Principal } | { ok: false; reason: AuthFailure };

export interface KeyResolver {
  resolve(secret: string | undefined): Resolution;
  /** The same checks for a key known by id (an ephemeral token acts for the key that created it); uncached. */
  resolveId(keyId: string): Resolution;
  /** In-process writes (admin API) call this so their effect is immediate. */
  invalidate(): void;
  /** Keys seen since the last drain, with the time last seen: the ledger carries them in its next batch. */
  drainLastUsed(): Map<string, number>;
}

const LOOKUP_SQL = `
  SELECT k.id AS key_id, k.prefix AS key_prefix, k.expires_at, coalesce(k.revoked_at, k.deleted_at) AS revoked_at,
         k.disabled_at AS key_off, k.scopes,
         p.id AS project_id, p.slug AS project_slug, p.upstream_key_id,
         CASE WHEN p.upstream_key_id IS NULL THEN NULL
              WHEN u.id IS NULL OR u.revoked_at IS NOT NULL OR u.deleted_at IS NOT NULL THEN 'revoked'
              WHEN u.disabled_at IS NOT NULL THEN 'disabled' ELSE 'active' END AS upstream_key_state,
         coalesce(p.disabled_at, p.deleted_at) AS project_off,
         t.id AS tenant_id, t.slug AS tenant_slug, coalesce(t.disabled_at, t.deleted_at) AS tenant_off
  FROM api_keys k JOIN projects p ON p.id = k.project_id JOIN tenants t ON t.id = p.tenant_id
  LEFT JOIN upstream_keys u ON u.id = p.upstream_key_id
  WHERE k.hash = ?`;
const LOOKUP_BY_ID_SQL = LOOKUP_SQL.replace('WHERE k.hash = ?', 'WHERE k.id = ?');

/**
 * Resolves tenant keys with a small cache. A cached entry is trusted only while SQLite's
 * data_version is unchanged (it moves when another connection, e.g. the CLI, commits) and for at
 * most ttlMs, so revocation elsewhere is seen on the very next request at the cost of one pragma read.
 * Unknown keys are cached too (same path, same cost), which keeps invalid-key floods off SQLite.
 */
export function createKeyResolver(db: Db, clock: Clock, ttlMs: number, maxEntries = 10_000): KeyResolver {
  const lookup: Statement<[string], KeyRow> = db.$client.prepare(LOOKUP_SQL);
  const lookupId: Statement<[string], KeyRow> = db.$client.prepare(LOOKUP_BY_ID_SQL);
  const dataVersion = dataVersionReader(db);
  const cache = new Map<string, CacheEntry>();
  let seenVersion = dataVersion();
  let lastUsed = new Map<string, number>();

  function load(hash: string, now: number): CacheEntry {
    const row = lookup.get(hash);
    const entry: CacheEntry = { row, principal: row ? toPrincipal(row) : null, loadedAt: now };
    if (cache.size >= maxEntries) cache.clear();
    cache.set(hash, entry);
    return entry;
  }

  function check(row: KeyRow | undefined, principal: Principal | null, now: number): Resolution {
    if (!row || !principal) return { ok: false, reason: 'unknown' };
    if (row.revoked_at !== null && row.revoked_at <= now) return { ok: false, reason: 'revoked' };
    if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: 'expired' };
    if (row.key_off !== null || row.project_off !== null || row.tenant_off !== null) return { ok: false, reason: 'disabled' };
    lastUsed.set(row.key_id, now);
    return { ok: true, principal };
  }

  return {
    resolve(secret) {
      if (!secret) return { ok: false, reason: 'missing' };
      const now = clock.now();
      const version = dataVersion();
      if (version !== seenVersion) {
        seenVersion = version;
        cache.clear();
      }
      const hash = hashKey(secret);
      let entry = cache.get(hash);
      if (!entry || now - entry.loadedAt > ttlMs) entry = load(hash, now);
      return check(entry.row, entry.principal, now);
    },
    resolveId(keyId) {
      const row = lookupId.get(keyId);
      return check(row, row ? toPrincipal(row) : null, clock.now());
    },
    invalidate() {
      cache.clear();
    },
    drainLastUsed() {
      const out = lastUsed;
      lastUsed = new Map();
      return out;
    },
  };
}

function toPrincipal(row: KeyRow): Principal {
  let scopes: KeyScopes = {};
  try {
    scopes = JSON.parse(row.scopes) as KeyScopes;
  } catch {
    // A corrupt scopes column must not open the key up: deny everything by scoping to nothing.
    scopes = { models: [], endpoints: [] };
  }
  return {
    keyId: row.key_id,
    keyPrefix: row.key_prefix,
    projectId: row.project_id,
    projectSlug: row.project_slug,
    tenantId: row.tenant_id,
    tenantSlug: row.tenant_slug,
    scopes,
    upstreamKeyId: row.upstream_key_id,
    upstreamKeyState: row.upstream_key_state,
  };
}
